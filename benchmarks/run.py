"""Run every benchmark and print each budget as PASS/FAIL with its figure and its baseline.

.venv/bin/python -m benchmarks [--quick] [--only fanout,smtp,...] [--json out.json]
.venv/bin/python benchmarks/run.py [--quick]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # `python benchmarks/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SUITES = ("fanout", "memory", "smtp", "match", "startup", "feeds")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--quick", action="store_true", help="small sizes: seconds, not minutes")
    ap.add_argument("--only", default="", help=f"comma-separated subset of {', '.join(SUITES)}")
    ap.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = ap.parse_args(argv)
    chosen = [s for s in args.only.split(",") if s] or list(SUITES)
    unknown = set(chosen) - set(SUITES)
    if unknown:
        ap.error(f"unknown suite(s) {sorted(unknown)}; choose from {', '.join(SUITES)}")
    print(
        f"digest benchmarks ({'quick' if args.quick else 'full'}): Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
    )
    results = []
    for name in chosen:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        t0 = time.perf_counter()
        for res in module.run(args.quick):
            results.append(res)
            print(res.line(), flush=True)
            for d in res.details:
                print(f"    {d}", flush=True)
        print(f"    ({name}: {time.perf_counter() - t0:.0f} s)", flush=True)
    failed = [r for r in results if r.passed is False]
    print(f"\n{len(results) - len(failed)} of {len(results)} budgets met")
    if args.json:
        args.json.write_text(
            json.dumps(
                [
                    {
                        "name": r.name,
                        "figure": r.figure,
                        "passed": r.passed,
                        "details": r.details,
                        "data": r.data,
                    }
                    for r in results
                ],
                indent=2,
                default=str,
            )
        )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
