"""Disk delivery: each digest becomes an .eml file (a complete message, ready to send).
The HTML and text parts are written beside it by the pipeline's render step."""

from __future__ import annotations

from pathlib import Path

from digest.deliver import SendOutcome
from digest.faults import fault
from digest.fsutil import atomic_write
from digest.store.deliveries import LedgerRow


def mail_dir(out_dir: Path, issue_id: str) -> Path:
    return Path(out_dir) / "mail" / issue_id


def file_stem(subscriber: str) -> str:
    """A file name for an address: readable, and safe on every file system."""
    safe = "".join(ch if ch.isalnum() or ch in "@._-+" else "_" for ch in subscriber)
    return safe[:120]


class DiskOutbox:
    method = "disk"

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = Path(out_dir)

    def send(self, row: LedgerRow) -> SendOutcome:
        if row.message is None:
            return SendOutcome(ok=False, permanent=True, detail="no message stored")
        path = mail_dir(self.out_dir, row.issue_id) / f"{file_stem(row.subscriber)}.eml"
        atomic_write(path, row.message)
        fault("after_disk_write")
        return SendOutcome(ok=True, detail=str(path), files=(str(path),))

    def close(self) -> None:
        pass
