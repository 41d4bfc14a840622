"""Start-up: `digest --help` (imports) and `digest run` on the bundled sample, as a cron job
sees them: fresh subprocesses, wall time, best of N. The baseline is a bare interpreter
(`python -c pass`) measured in the same run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import Result

ROOT = Path(__file__).resolve().parent.parent
NOW = "2026-12-01T07:00:00+00:00"
HELP_BUDGET = 0.150
RUN_BUDGET = 1.0
RERUN_BUDGET = 0.5


def _digest_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("digest")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "digest"]


def _wall(cmd: list[str], cwd: Path | None = None, env: dict | None = None) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
    )
    return time.perf_counter() - t0


def import_times(module: str) -> tuple[float, list[tuple[float, str]]]:
    """(cumulative µs of `module`, the 8 heaviest top-level imports) from -X importtime."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    rows = []
    total = 0.0
    for line in out.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if not m:
            continue
        cum, depth, name = int(m.group(2)), len(m.group(3)), m.group(4)
        if name == module:
            total = cum
        if depth <= 1:
            rows.append((cum, name))
    return total, sorted(rows, reverse=True)[:8]


def run(quick: bool) -> list[Result]:
    n = 5 if quick else 15
    base = min(_wall([sys.executable, "-c", "pass"]) for _ in range(n))
    help_wall = min(_wall([*_digest_cmd(), "--help"]) for _ in range(n))
    cum, heavy = min(import_times("digest.cli") for _ in range(3))
    ok = help_wall < HELP_BUDGET or (help_wall - base) < HELP_BUDGET
    r1 = Result(
        "start-up: digest --help",
        f"{help_wall * 1000:.0f} ms wall vs bare interpreter {base * 1000:.0f} ms "
        f"({help_wall / base:.1f}x); import digest.cli {cum / 1000:.0f} ms "
        f"(budget < {HELP_BUDGET * 1000:.0f} ms)",
        help_wall < HELP_BUDGET,
    )
    r1.details.append(
        "heaviest imports (cumulative ms): "
        + ", ".join(f"{name} {c / 1000:.0f}" for c, name in heavy)
    )
    r1.data.update(help=help_wall, base=base, cli_import=cum / 1e6)
    del ok

    firsts, seconds = [], []
    for _ in range(3 if quick else 5):
        folder = Path(tempfile.mkdtemp(prefix="bench-run-"))
        env = {**os.environ, "DIGEST_NOW": NOW}
        env.pop("SOURCE_DATE_EPOCH", None)
        firsts.append(_wall([*_digest_cmd(), "run"], cwd=folder, env=env))
        seconds.append(_wall([*_digest_cmd(), "run"], cwd=folder, env=env))
        produced = any(folder.rglob("*.eml")) or any(folder.rglob("*.html"))
        shutil.rmtree(folder, ignore_errors=True)
    first, second = min(firsts), min(seconds)
    r2 = Result(
        "start-up: digest run on the bundled sample (fresh folder, DIGEST_NOW fixed)",
        f"first run {first:.2f} s (budget < {RUN_BUDGET} s), second run with nothing new "
        f"{second:.2f} s (budget < {RERUN_BUDGET} s); bare interpreter {base * 1000:.0f} ms",
        first < RUN_BUDGET and second < RERUN_BUDGET and produced,
    )
    r2.details.append(f"the first run wrote digests: {produced}")
    r2.data.update(first=first, second=second)
    return [r1, r2]
