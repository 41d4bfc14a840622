"""What a run did: the report printed by `digest run` (and its --json) and kept in the state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from digest.errors import EXIT_FAILURE, EXIT_OK, EXIT_PARTIAL
from digest.models import Delivery


@dataclass
class RunReport:
    started_at: datetime
    dry_run: bool = False
    finished_at: datetime | None = None
    sources: list[dict[str, Any]] = field(default_factory=list)
    papers: int = 0
    new_papers: int = 0
    selected: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # worth fixing, but nothing failed
    preview_dir: str | None = None
    delivery_aborted: str | None = None  # the outbox could not send at all (server down, ...)
    fingerprint: str = ""

    @property
    def sent(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.state == "sent"]

    @property
    def failed_sources(self) -> list[dict[str, Any]]:
        return [s for s in self.sources if s["error"]]

    @property
    def exit_code(self) -> int:
        failed_deliveries = [d for d in self.deliveries if d.state != "sent"]
        if self.sources and len(self.failed_sources) == len(self.sources):
            return EXIT_FAILURE
        if (self.delivery_aborted or failed_deliveries) and not self.sent:
            return EXIT_FAILURE
        if self.failed_sources or failed_deliveries or self.errors:
            return EXIT_PARTIAL
        return EXIT_OK

    @property
    def status(self) -> str:
        return {EXIT_OK: "ok", EXIT_PARTIAL: "partial", EXIT_FAILURE: "failed"}[self.exit_code]

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "exit_code": self.exit_code,
            "dry_run": self.dry_run,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "sources": self.sources,
            "papers": self.papers,
            "new_papers": self.new_papers,
            "selected": self.selected,
            "skipped": self.skipped,
            "deliveries": [
                {
                    "subscriber": d.subscriber,
                    "issue": d.issue_id,
                    "state": d.state,
                    "detail": d.detail,
                    "files": list(d.files),
                }
                for d in self.deliveries
            ],
            "files": self.files,
            "errors": self.errors,
            "notes": self.notes,
            "warnings": self.warnings,
            "preview_dir": self.preview_dir,
            "fingerprint": self.fingerprint,
        }
