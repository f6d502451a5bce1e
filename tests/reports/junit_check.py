#!/usr/bin/env python3
"""Read a junit.xml with a real XML parser (xml.etree) and check what CI
readers rely on; print a JSON summary for the test to look at.

    junit_check.py junit.xml

Checks: the document parses; the counts of <testsuites> and of each
<testsuite> equal the test cases they hold (failures, errors, skipped);
every test case has a classname and a non-empty name, unique in its suite;
suite names are unique; a test case holds at most one outcome.  Exit 0 and
the summary on stdout, or 1 and the problems on stderr.
"""
import json
import sys
import xml.etree.ElementTree as ET


def main(path):
    problems = []
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        print("junit_check: %s: not well-formed XML: %s" % (path, e), file=sys.stderr)
        return 1
    if root.tag != "testsuites":
        problems.append("root element is <%s>, expected <testsuites>" % root.tag)
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    suites, summary = set(), {}
    for suite in root.findall("testsuite"):
        name = suite.get("name", "")
        if not name or name in suites:
            problems.append("suite name %r is empty or repeated" % name)
        suites.add(name)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        names, cases = set(), {}
        for case in suite.findall("testcase"):
            key = (case.get("classname"), case.get("name"))
            if not key[0] or not key[1] or key in names:
                problems.append("suite %r: test case %r is unnamed or repeated" % (name, key))
            names.add(key)
            counts["tests"] += 1
            outcomes = [c.tag for c in case if c.tag in ("failure", "error", "skipped")]
            if len(outcomes) > 1:
                problems.append("suite %r: test case %r has %d outcomes" % (name, key, len(outcomes)))
            outcome = outcomes[0] if outcomes else "passed"
            if outcome == "failure":
                counts["failures"] += 1
            elif outcome == "error":
                counts["errors"] += 1
            elif outcome == "skipped":
                counts["skipped"] += 1
            detail = case.find(outcome) if outcomes else None
            cases[key[1]] = {"outcome": outcome,
                             "message": detail.get("message") if detail is not None else None,
                             "text": detail.text if detail is not None else None}
        for k, v in counts.items():
            if int(suite.get(k, "0")) != v:
                problems.append("suite %r says %s=%s, holds %d" % (name, k, suite.get(k), v))
            totals[k] += v
        summary[name] = cases
    for k, v in totals.items():
        if int(root.get(k, "0")) != v:
            problems.append("<testsuites> says %s=%s, holds %d" % (k, root.get(k), v))
    if problems:
        for p in problems:
            print("junit_check: %s: %s" % (path, p), file=sys.stderr)
        return 1
    print(json.dumps({"totals": totals, "suites": summary}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
