#!/usr/bin/env python3
"""Compares an Autobahn|Testsuite report with conformance/expected.json.

A case passes when its behavior and close behavior are both acceptable (OK, NON-STRICT or
INFORMATIONAL; UNIMPLEMENTED no longer, since permessage-deflate is) and both equal the
committed expectation, so any change, even
NON-STRICT becoming OK, shows up here for review. Prints one line per difference, then
`N passed, N failed`; exits 1 on any failure.

    check.py REPORT_INDEX_JSON            # compare
    check.py REPORT_INDEX_JSON --update   # rewrite expected.json from the report
"""

import json
import sys
from pathlib import Path

ACCEPTABLE = {"OK", "NON-STRICT", "INFORMATIONAL"}
EXPECTED = Path(__file__).with_name("expected.json")


def case_key(case_id):
    return [int(part) for part in case_id.split(".")]


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    report = json.loads(Path(argv[1]).read_text())
    if len(report) != 1:
        print(f"error: expected one agent in {argv[1]}, found {sorted(report)}", file=sys.stderr)
        return 1
    (results,) = report.values()
    actual = {case: [r["behavior"], r["behaviorClose"]] for case, r in results.items()}

    if "--update" in argv:
        lines = [f'  "{case}": {json.dumps(actual[case])}' for case in sorted(actual, key=case_key)]
        EXPECTED.write_text("{\n" + ",\n".join(lines) + "\n}\n")
        print(f"wrote {len(lines)} cases to {EXPECTED}")
        return 0

    expected = json.loads(EXPECTED.read_text())
    passed = failed = 0
    for case in sorted(set(actual) | set(expected), key=case_key):
        got, want = actual.get(case), expected.get(case)
        problems = []
        if got is None:
            problems.append("not run")
        elif not set(got) <= ACCEPTABLE:
            problems.append(f"behavior {got[0]}, close {got[1]}")
        if got is not None and want is None:
            problems.append("not in expected.json")
        elif got is not None and got != want:
            problems.append(f"changed from {want[0]}/{want[1]} to {got[0]}/{got[1]}")
        if problems:
            failed += 1
            print(f"FAIL {case}: {'; '.join(problems)}")
        else:
            passed += 1
    print(f"autobahn: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
