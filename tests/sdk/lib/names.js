// Unique thing names per test, so tests sharing one broker never see each
// other's shadows or events.
'use strict';

let counter = 0;

function uniqueThing(prefix) {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}`;
}

module.exports = { uniqueThing };
