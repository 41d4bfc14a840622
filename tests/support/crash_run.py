"""A delivery run for crash tests: plan a row per address (idempotent), then deliver them
all over SMTP to 127.0.0.1:PORT. DIGEST_FAULT in the environment kills it at a fault point.

    python tests/support/crash_run.py STATE PORT ADDRESS...
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from digest.deliver import deliver_pending  # noqa: E402
from digest.deliver.smtp import SmtpOutbox  # noqa: E402
from tests.support.mailing import clock, plan_rows, smtp_config, state_db  # noqa: E402


def main(state: str, port: str, *addresses: str) -> int:
    conn = state_db(Path(state))
    plan_rows(conn, addresses)
    config = smtp_config(int(port), Path(state).parent, max_attempts_per_run=1)
    report = deliver_pending(conn, SmtpOutbox(config), clock())
    print(report.summary())
    return 0 if report.ok else 3


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
