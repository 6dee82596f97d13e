"""Fail when a module of the integration, client or simulator is below the coverage floor.

Reads coverage.json (written by pytest-cov with --cov-report=json) and prints every
module under the floor. Usage: .venv/bin/python scripts/coverage_check.py [FLOOR]
"""

from __future__ import annotations

import json
from pathlib import Path
import sys

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    """Check each file's line+branch coverage against the floor."""
    floor = float(sys.argv[1]) if len(sys.argv) > 1 else 95.0
    report = json.loads((ROOT / "coverage.json").read_text(encoding="utf-8"))
    low = []
    for path, data in sorted(report["files"].items()):
        percent = data["summary"]["percent_covered"]
        if percent < floor:
            low.append((path, percent))
    for path, percent in low:
        print(f"coverage {percent:5.1f} % < {floor:.0f} %: {path}")
    total = report["totals"]["percent_covered"]
    print(f"coverage: {total:.1f} % in total, {len(report['files'])} files, {len(low)} under {floor:.0f} %")
    return 1 if low else 0


if __name__ == "__main__":
    sys.exit(main())
