#!/usr/bin/env python3
"""Check the patches of `rehearse json-diff` with an independent RFC 6902
implementation: Debian's python3-jsonpatch.

    jsonpatch_check.py REHEARSE SUITE_DIR PAIRS.jsonl [RANDOM_PAIRS]

For every record of the JSON Patch suite that has an expected document, for
every crafted pair of PAIRS.jsonl and for RANDOM_PAIRS generated pairs (a
fixed seed, so a failure reproduces), run `rehearse json-diff A B`, apply
the patch to A with jsonpatch and with `rehearse json-patch`, and compare
with B; the exit code must say equal (0) or different (1).  Prints one line per failure and a summary;
exits 1 when anything failed.
"""
import json
import os
import random
import subprocess
import sys
import tempfile

import jsonpatch


def same(a, b):
    """JSON equality as rehearse defines it: numbers by value, true is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def same_as_doubles(a, b):
    """Equality once numbers are read as doubles, as `rehearse json-patch`
    reads numbers beyond int64 (it warns when it does)."""
    if isinstance(a, (int, float)) and not isinstance(a, bool) and \
            isinstance(b, (int, float)) and not isinstance(b, bool):
        return float(a) == float(b)
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same_as_doubles(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_as_doubles(a[k], b[k]) for k in a)
    return a == b


def random_pairs(n):
    rnd = random.Random(6902)
    keys = ["a", "b", "id", "~", "/", "a/b", "m~n", "", " ", "0", "ключ", "\u00e9"]

    def scalar():
        return rnd.choice([None, True, False, rnd.randint(-3, 3), rnd.random(), 1.0,
                           12345678901234567890, rnd.choice(["", "x", "~1", "a/b", "\u2028"])])

    def value(depth=0):
        t = rnd.random()
        if depth > 3 or t < 0.35:
            return scalar()
        if t < 0.7:
            return [value(depth + 1) for _ in range(rnd.randint(0, 6))]
        return {rnd.choice(keys): value(depth + 1) for _ in range(rnd.randint(0, 5))}

    def mutate(v, depth=0):
        if rnd.random() < 0.12:
            return value(depth)
        if isinstance(v, list):
            v = [mutate(x, depth + 1) if rnd.random() < 0.4 else x for x in v]
            for _ in range(rnd.randint(0, 2)):
                r = rnd.random()
                if r < 0.4:
                    v.insert(rnd.randint(0, len(v)), value(depth + 1))
                elif r < 0.8 and v:
                    del v[rnd.randrange(len(v))]
                elif len(v) > 1:
                    i, j = rnd.randrange(len(v)), rnd.randrange(len(v))
                    v[i], v[j] = v[j], v[i]
            return v
        if isinstance(v, dict):
            v = {k: (mutate(x, depth + 1) if rnd.random() < 0.4 else x) for k, x in v.items()}
            if v and rnd.random() < 0.3:
                del v[rnd.choice(list(v))]
            if rnd.random() < 0.3:
                v[rnd.choice(keys)] = value(depth + 1)
            return v
        return v

    for i in range(n):
        a = value()
        yield ("random pair %d" % i, a, mutate(json.loads(json.dumps(a))))


def main():
    rehearse, suite, pairs = sys.argv[1:4]
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 200
    cases = []
    for name in ("tests.json", "spec_tests.json"):
        with open(os.path.join(suite, name), encoding="utf-8") as f:
            for i, rec in enumerate(json.load(f)):
                if "doc" in rec and "expected" in rec:
                    cases.append(("%s #%d %s" % (name, i, rec.get("comment", "")),
                                  rec["doc"], rec["expected"]))
    suite_cases = len(cases)
    with open(pairs, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            cases.append((rec["name"], rec["a"], rec["b"]))
    crafted = len(cases) - suite_cases
    cases.extend(random_pairs(count))

    failures = ops = 0
    with tempfile.TemporaryDirectory() as tmp:
        pa, pb = os.path.join(tmp, "a.json"), os.path.join(tmp, "b.json")
        pp = os.path.join(tmp, "patch.json")
        for name, a, b in cases:
            with open(pa, "w", encoding="utf-8") as f:
                json.dump(a, f)
            with open(pb, "w", encoding="utf-8") as f:
                json.dump(b, f)
            run = subprocess.run([rehearse, "json-diff", pa, pb], capture_output=True,
                                 timeout=60)
            if run.returncode not in (0, 1):
                print("FAIL %s: exit %d: %s" % (name, run.returncode, run.stderr.decode()))
                failures += 1
                continue
            patch = json.loads(run.stdout)
            ops += len(patch)
            if (run.returncode == 0) != same(a, b) or (run.returncode == 0) != (patch == []):
                print("FAIL %s: exit %d for %s" % (name, run.returncode,
                                                   "equal documents" if same(a, b) else
                                                   "different documents"))
                failures += 1
            try:
                got = jsonpatch.apply_patch(a, patch)
            except Exception as e:  # any rejection by the independent implementation
                print("FAIL %s: jsonpatch rejects the patch: %s\n  patch: %s"
                      % (name, e, run.stdout.decode()))
                failures += 1
                continue
            if not same(got, b):
                print("FAIL %s: the patch does not give B\n  A: %s\n  B: %s\n  patch: %s\n  got: %s"
                      % (name, json.dumps(a), json.dumps(b), run.stdout.decode(),
                         json.dumps(got)))
                failures += 1
            # And with rehearse's own json-patch, end to end.
            with open(pp, "wb") as f:
                f.write(run.stdout)
            own = subprocess.run([rehearse, "json-patch", pa, pp], capture_output=True, timeout=60)
            if own.returncode != 0 or not same_as_doubles(json.loads(own.stdout), b):
                print("FAIL %s: rehearse json-patch: exit %d %s\n  got: %s"
                      % (name, own.returncode, own.stderr.decode(), own.stdout.decode()))
                failures += 1
    print("checked %d pairs (%d from the suite, %d crafted, %d random), %d operations, "
          "%d failures" % (len(cases), suite_cases, crafted, count, ops, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
