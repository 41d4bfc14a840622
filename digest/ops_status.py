"""`digest status`: what the state says about past runs, and when the next one is due.

The state is opened read-only: looking never creates, migrates or locks anything.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, tzinfo
from typing import Any

from digest.config import Config


def gather(config: Config, now: datetime, limit: int = 10) -> dict[str, Any]:
    from digest.cron import describe
    from digest.schedule import missed_run, next_due, plan_jobs, read_history
    from digest.store.lock import holder

    jobs = plan_jobs(config)
    found = next_due(jobs, now)
    missed = missed_run(read_history(config.state_path), jobs, now)
    data: dict[str, Any] = {
        "state": str(config.state_path),
        "timezone": config.timezone,
        "next_run": found[0].isoformat() if found else None,
        "next_run_text": describe(found[0], config.zone) if found else None,
        "next_run_for": found[1].label if found else None,
        "schedules": [{"cron": j.cron, "cadences": list(j.cadences)} for j in jobs],
        "catch_up_due": missed.isoformat() if missed else None,
        "running_pid": holder(config.state_path),
        "runs": [],
        "deliveries": {},
        "waiting": [],  # planned, being sent, or failed for now: a later run sends them
        "given_up": [],  # failed for good (perm-failed, or past smtp.retry_hours)
    }
    conn = _read_only(config)
    if conn is None:
        return data
    try:
        rows = _last_runs(conn, limit)
        data["runs"] = _summaries(conn, rows, data["running_pid"] is not None, now)
        data["deliveries"] = {
            r["state"]: r["n"]
            for r in conn.execute(
                "SELECT state, COUNT(*) AS n FROM deliveries GROUP BY state ORDER BY state"
            )
        }
        data["waiting"] = _unfinished(conn, "('planned','sending','temp-failed')")
        data["given_up"] = _unfinished(conn, "('perm-failed')")
    except sqlite3.Error:
        pass  # a state from before these tables: show what there is
    finally:
        conn.close()
    return data


def _unfinished(conn: sqlite3.Connection, states: str) -> list[dict[str, Any]]:
    return [
        {
            "subscriber": r["subscriber"],
            "issue": r["issue_id"],
            "state": r["state"],
            "attempts": r["attempts"],
            "error": r["last_error"],
            "next_attempt_at": r["next_attempt_at"],
        }
        for r in conn.execute(
            f"SELECT * FROM deliveries WHERE state IN {states}"  # noqa: S608 - constants
            " ORDER BY updated_at DESC LIMIT 20"
        )
    ]


def _summaries(
    conn: sqlite3.Connection, rows: list[dict[str, Any]], lock_held: bool, now: datetime
) -> list[dict[str, Any]]:
    """Each run's summary. A run still marked `running` whose process is gone (the run lock
    is free, or held by a newer run) was interrupted: killed, or the machine went down."""
    out = []
    newer_start: str | None = None  # rows come newest first
    for i, run in enumerate(rows):
        status = run["status"]
        if status == "running" and not (lock_held and i == 0):
            status = "interrupted"
        end = run["finished_at"] or newer_start or now.isoformat()
        out.append(_run_summary(run, status, _deliveries_between(conn, run["started_at"], end)))
        newer_start = run["started_at"]
    return out


def _deliveries_between(conn: sqlite3.Connection, start: str, end: str) -> list[dict[str, Any]]:
    """The deliveries whose last change fell within a run's time: what that run did, even
    when it never wrote its report (killed). julianday() compares times across offsets."""
    try:
        rows = conn.execute(
            "SELECT subscriber, issue_id, state, last_error FROM deliveries"
            " WHERE julianday(updated_at) >= julianday(?)"
            " AND julianday(updated_at) <= julianday(?)"
            " ORDER BY updated_at, subscriber",
            (start, end),
        ).fetchall()
    except sqlite3.Error:  # a state from before the ledger
        return []
    return [
        {
            "subscriber": r["subscriber"],
            "issue": r["issue_id"],
            "state": r["state"],
            "detail": r["last_error"] or "",
        }
        for r in rows
    ]


def _read_only(config: Config) -> sqlite3.Connection | None:
    if not config.state_path.exists():
        return None
    conn = sqlite3.connect(f"file:{config.state_path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        conn.close()
        from digest.errors import StateError

        raise StateError(
            f"the state file {str(config.state_path)!r} cannot be used: {exc}",
            hint="is `state:` pointing at another file?",
        ) from None
    return conn


def _last_runs(conn: sqlite3.Connection, limit: int) -> list[dict[str, Any]]:
    from digest.store import runs

    return runs.last(conn, limit)


def _run_summary(
    run: dict[str, Any], status: str, recorded: list[dict[str, Any]]
) -> dict[str, Any]:
    report = run.get("report") or {}
    deliveries = list(report.get("deliveries") or [])
    listed = {(d.get("subscriber"), d.get("issue")) for d in deliveries}
    deliveries += [d for d in recorded if (d["subscriber"], d["issue"]) not in listed]
    pending = ("planned", "sending")
    return {
        "id": run["id"],
        "started_at": run["started_at"],
        "finished_at": run["finished_at"],
        "status": status,
        "sent": [
            f"{d['subscriber']} ({d['issue']})" for d in deliveries if d.get("state") == "sent"
        ],
        "failed": [
            f"{d['subscriber']} ({d['issue']}): {d.get('state')}: {d.get('detail')}"
            for d in deliveries
            if d.get("state") not in ("sent", "written", "cancelled", None, *pending)
        ],
        "unfinished": [
            f"{d['subscriber']} ({d['issue']})" for d in deliveries if d.get("state") in pending
        ],
        "errors": list(report.get("errors") or []),
        "new_papers": report.get("new_papers"),
        "notes": list(report.get("notes") or []),
    }


def _local(value: str | None, zone: tzinfo) -> str:
    if not value:
        return "-"
    at = datetime.fromisoformat(value)
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def render_text(data: dict[str, Any], zone: tzinfo) -> list[str]:
    lines = []
    if data["next_run"]:
        lines.append(f"next run: {data['next_run_text']} ({data['next_run_for']})")
    else:
        lines.append("next run: none (the cron expressions never fire again)")
    if data["running_pid"] is not None:
        pid = f" (pid {data['running_pid']})" if data["running_pid"] else ""
        lines.append(f"a run is in progress now{pid}")
    if data["catch_up_due"]:
        lines.append(
            f"catch-up due: the run of {_local(data['catch_up_due'], zone)} did not "
            "happen; `digest schedule` runs it on start, or run `digest run`"
        )
    if not data["runs"]:
        lines.append(f"no runs recorded yet in {data['state']}")
        return lines
    lines.append("last runs:")
    for run in data["runs"]:
        what = f"{len(run['sent'])} sent" if run["sent"] else "nothing sent"
        lines.append(f"  {_local(run['started_at'], zone)}  {run['status']:<8} {what}")
        if run["status"] == "interrupted":
            lines.append(
                "      the process stopped before the run finished (killed, or the "
                "machine went down); the next run resumes its deliveries"
            )
        for item in run["sent"][:10]:
            lines.append(f"      sent {item}")
        if len(run["sent"]) > 10:
            lines.append(f"      ... and {len(run['sent']) - 10} more")
        for item in run.get("unfinished", [])[:5]:
            lines.append(f"      not sent yet {item}")
        if len(run.get("unfinished", [])) > 5:
            lines.append(f"      ... and {len(run['unfinished']) - 5} more not sent yet")
        for error in run["errors"][:5]:
            lines.append("      ! " + error.replace("\n", "\n        ").replace("  hint:", "hint:"))
    waiting = [w for w in data["waiting"] if w["state"] != "perm-failed"]
    failed = data.get("given_up", [])
    if waiting:
        lines.append(f"deliveries waiting for a retry: {len(waiting)}")
        for w in waiting[:10]:
            lines.append(
                f"  {w['subscriber']} ({w['issue']}): {w['state']}, "
                f"{w['attempts']} attempt(s): {w['error'] or '-'}; {_retry(w, zone)}"
            )
    if failed:
        lines.append(f"deliveries given up: {len(failed)}")
        for w in failed[:10]:
            lines.append(f"  {w['subscriber']} ({w['issue']}): {w['error'] or '-'}")
    return lines


def _retry(waiting: dict[str, Any], zone: tzinfo) -> str:
    if waiting["next_attempt_at"]:
        return f"next attempt with the first run after {_local(waiting['next_attempt_at'], zone)}"
    return "sent by the next run"
