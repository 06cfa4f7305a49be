#!/usr/bin/env python3
"""Writes N topic-rule definitions for the rules-engine load benchmark
(docs/benchmarks/rules.md) into DIR, one file each, for
plugin_opt_rules_file DIR.

Every rule reads the traffic of shadow_loadgen: a quarter each the update
requests, /update/accepted, /update/delta and /update/documents of every
thing. Their WHERE is never true (shadow_loadgen's seq is never negative),
so every message is parsed and run through its rules but no action fires:
the figure is the cost of evaluating the rules, not of extra messages.

Usage: scripts/bench-rules.py N DIR
"""

import json
import os
import sys

TOPICS = [
    ("$aws/things/+/shadow/update", "state.reported.seq"),
    ("$aws/things/+/shadow/update/accepted", "state.reported.seq"),
    ("$aws/things/+/shadow/update/delta", "state.seq"),
    ("$aws/things/+/shadow/update/documents", "current.state.reported.seq"),
]


def main():
    if len(sys.argv) != 3 or not sys.argv[1].isdigit():
        sys.exit(__doc__.strip().splitlines()[-1])
    count, directory = int(sys.argv[1]), sys.argv[2]
    os.makedirs(directory, exist_ok=True)
    for i in range(count):
        topic, field = TOPICS[i % len(TOPICS)]
        rule = {
            "ruleName": "bench_%03d" % i,
            "topicRulePayload": {
                "sql": "SELECT %s AS seq, topic(3) AS thing FROM '%s' WHERE %s < 0" % (field, topic, field),
                "awsIotSqlVersion": "2016-03-23",
                "actions": [{"republish": {"topic": "bench/out/${topic(3)}",
                                           "roleArn": "arn:aws:iam::123456789012:role/unused"}}],
            },
        }
        with open(os.path.join(directory, "bench_%03d.json" % i), "w") as f:
            json.dump(rule, f)
    print("%d rule definitions in %s" % (count, directory))


if __name__ == "__main__":
    main()
