"""Disk delivery: each digest becomes an .eml file (a complete message, ready to send).
The HTML and text parts are written beside it by the pipeline's render step."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from digest.deliver import SendOutcome
from digest.faults import fault
from digest.fsutil import atomic_write
from digest.store.deliveries import LedgerRow


def mail_dir(out_dir: Path, issue_id: str) -> Path:
    return Path(out_dir) / "mail" / issue_id


_PLAIN = re.compile(r"[A-Za-z0-9@._+-]+")
_UNSAFE_CHAR = re.compile(r"[^A-Za-z0-9@._+-]")
_MAX_PLAIN = 120
_MAX_READABLE = 100


def file_stem(subscriber: str) -> str:
    """A file name for an address: readable, safe on every file system, and one per address.

    An address that is already a safe name (only `A-Za-z0-9@._+-`, not hidden, short) is
    its own stem. Any other gets its unsafe characters replaced and `~` plus 8 hex of the
    SHA-256 of the full address appended, so `o'neil@x.org` and `o_neil@x.org`, or two long
    addresses sharing their first 100 characters, never write over each other's files.
    `~` never occurs in a plain stem, so a hashed stem cannot equal another address either.
    Stable: the same address always gets the same stem (compose, disk and preview agree)."""
    if _PLAIN.fullmatch(subscriber) and len(subscriber) <= _MAX_PLAIN and subscriber[0] not in ".-":
        return subscriber
    readable = _UNSAFE_CHAR.sub("_", subscriber)[:_MAX_READABLE]
    if readable[:1] in (".", "-"):
        readable = "_" + readable[1:]
    digest = hashlib.sha256(subscriber.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{readable}~{digest}"


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
