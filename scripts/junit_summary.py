"""Sum up the JUnit reports of `make test` in one closing line; exit 1 if anything failed."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def main() -> int:
    folder, seconds, failed_stages = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
    passed = failed = skipped = 0
    for report in sorted(folder.glob("*.xml")):
        for suite in ET.parse(report).getroot().iter("testsuite"):  # noqa: S314
            tests = int(suite.get("tests", 0))
            bad = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
            skip = int(suite.get("skipped", 0))
            passed += tests - bad - skip
            failed += bad
            skipped += skip
    # A stage without a JUnit report (lint, validate, test conversations) counts as one test;
    # pytest stages are already counted test by test.
    failed += sum(1 for name in failed_stages if not name.startswith("pytest"))
    print()
    if failed_stages:
        print("Failed stages: " + ", ".join(failed_stages))
    print(f"make test finished in {seconds} s")
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed or failed_stages else 0


if __name__ == "__main__":
    raise SystemExit(main())
