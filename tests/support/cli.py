"""Run the real `digest` command in a subprocess, the way a user does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

NOW = "2026-12-01T07:00:00+00:00"


def digest(
    *args: str, cwd: Path, now: str = NOW, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "DIGEST_NOW": now, **(env or {})}
    full_env.pop("DIGEST_FAULT", None) if "DIGEST_FAULT" not in (env or {}) else None
    return subprocess.run(
        [sys.executable, "-m", "digest", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def report(result: subprocess.CompletedProcess[str]) -> dict:
    assert result.stdout.strip(), f"no JSON on stdout; stderr:\n{result.stderr}"
    return json.loads(result.stdout)
