#!/usr/bin/python3
"""Writes the seed corpus of the shadow_fuzz target from the test
vectors (tests/vectors/TV-*.json), in the input encoding described at the top
of fuzz_service.cc: one seed per vector holding its initial records and every
request step, in order, plus a few hand-made seeds for paths the vectors do
not reach (config variants, failing writes, a damaged store).

Usage: tests/fuzz/make_corpus.py [output dir]   (default: tests/fuzz/corpus)
The output directory is emptied of *.seed files first, so the committed
corpus is exactly what this script writes.
"""
import base64
import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
VECTORS = HERE.parent / "vectors"
SEPARATOR = b"\n%%\n"
DEFAULT_NOW_BASE = 1700000000  # as in tests/unit/vectors_test.cpp

def expand(text, times, now):
    """Substitutes the vector placeholders exactly as vectors_test.cpp does:
    "@T@" and named times become bare integers (a quoted placeholder loses
    its quotes), "@REP:text:N@" repeats text, "@NEXT@" a list token."""
    out = ""
    i = 0
    while i < len(text):
        at = text.find("@", i)
        if at < 0:
            out += text[i:]
            break
        end = text.index("@", at + 1)
        out += text[i:at]
        token = text[at + 1:end]
        i = end + 1
        if token.startswith("REP:"):
            body, _, count = token[4:].rpartition(":")
            out += body * int(count)
            continue
        if token == "NEXT":
            # The real token is only known at run time; any well-formed one
            # keeps the request on the paging path.
            out += base64.urlsafe_b64encode(b"alpha").decode().rstrip("=")
            continue
        number = str(now if token == "T" else times[token])
        if out.endswith('"') and i < len(text) and text[i] == '"':
            out = out[:-1]
            i += 1
        out += number
    return out


def content(obj, key, times, now):
    """The bytes of a content written as key (JSON), key_raw or key_hex."""
    if key in obj:
        text = json.dumps(obj[key], separators=(",", ":"), ensure_ascii=False)
        return expand(text, times, now).encode()
    if key + "_raw" in obj:
        return expand(obj[key + "_raw"], times, now).encode()
    if key + "_hex" in obj:
        return bytes.fromhex(obj[key + "_hex"])
    return b""


def record(header_fields, payload=b""):
    header = "\t".join(str(f) for f in header_fields).encode()
    return header + b"\n" + payload if payload else header


def seed_of(fixture):
    times = fixture.get("times", {})
    records = []
    for r in fixture.get("initial", []):
        at = r.get("deleted_at", 0)
        at = times[at] if isinstance(at, str) else at
        fields = ["S", r["thing"], r.get("shadow", ""), r["version"]]
        if r.get("deleted"):
            records.append(record(fields + [at]))
        else:
            records.append(record(fields, content(r, "document", times, DEFAULT_NOW_BASE)))
    for number, step in enumerate(fixture["steps"]):
        now = step.get("now", DEFAULT_NOW_BASE + 1000 * number)
        now = times[now] if isinstance(now, str) else now
        if "mqtt" in step:
            m = step["mqtt"]
            records.append(record(["M", now, m["topic"]], content(m, "payload", times, now)))
        elif "rest" in step:
            r = step["rest"]
            op = r["op"]
            if op == "list":
                fields = ["L", now, r["thing"], r.get("page_size", "*"),
                          expand(r.get("next_token", "*"), times, now)]
                records.append(record(fields))
            else:
                fields = [{"get": "G", "update": "U", "delete": "D"}[op], now, r["thing"]]
                if "shadow" in r:
                    fields.append(r["shadow"])
                records.append(record(fields, content(r, "payload", times, now)))
        elif "get" in step:
            g = step["get"]
            prefix = "$aws/things/" + g["thing"] + "/shadow"
            if g.get("shadow"):
                prefix += "/name/" + g["shadow"]
            records.append(record(["M", now, prefix + "/get"]))
    return SEPARATOR.join(records)


def handmade():
    """Seeds for what the vectors leave out."""
    update = b'{"state":{"desired":{"a":1,"b":{"c":"x"}},"reported":{"a":0}},"clientToken":"t"}'
    return {
        # Every Config choice flipped, small limits (flag bits in fuzz_service.cc).
        "config-all-flags": SEPARATOR.join([
            record(["C", 16383]),
            record(["M", 100, "dev1/shadow/update"], update),
            record(["M", 105, "$aws/things/dev1/shadow/name/n1/update"], update),
            record(["L", 106, "dev1", "2"]),
            record(["D", 110, "dev1"]),
            record(["M", 200, "dev1/shadow/update"], b'{"state":{"reported":{"a":1}},"version":1}'),
        ]),
        # Store write failures on update and delete, then recovery.
        "failing-writes": SEPARATOR.join([
            record(["F", 1]),
            record(["M", 100, "$aws/things/dev1/shadow/update"], update),
            record(["M", 101, "$aws/things/dev1/shadow/update"], update),
            record(["F", 1]),
            record(["M", 102, "$aws/things/dev1/shadow/delete"]),
            record(["G", 103, "dev1"]),
        ]),
        # A damaged stored document and an expired tombstone.
        "damaged-store": SEPARATOR.join([
            record(["S", "dev1", "", 3], b'{"state":{"desired":[1]},"metadata":{},"version":3}'),
            record(["M", 100, "$aws/things/dev1/shadow/get"]),
            record(["M", 101, "$aws/things/dev1/shadow/update"], update),
            record(["S", "dev1", "cfg", 7, 100]),
            record(["M", 400000, "$aws/things/dev1/shadow/name/cfg/update"], update),
            record(["L", 400001, "dev1", "*", "Y2Zn"]),
        ]),
    }


def main():
    out = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "corpus"
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.seed"):
        old.unlink()
    count = 0
    for path in sorted(VECTORS.glob("TV-*.json")):
        fixture = json.loads(path.read_text(encoding="utf-8"))
        (out / (fixture["id"] + ".seed")).write_bytes(seed_of(fixture))
        count += 1
    for name, data in handmade().items():
        (out / (name + ".seed")).write_bytes(data)
        count += 1
    print(f"make_corpus: wrote {count} seeds to {out}")


if __name__ == "__main__":
    main()
