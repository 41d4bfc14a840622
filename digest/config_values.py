"""Config building blocks: the strict base model and the checks of single values
(timezones, addresses, list ids) that config.py's fields use."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, IsADirectoryError):
        raise ValueError(
            f"unknown timezone {value!r}; use an IANA name such as Europe/Paris"
        ) from None
    return value


def normalize_email(value: str) -> str:
    """Validate and normalise a reader's address (domain lower-cased, an international
    domain in its ASCII form). Raises ValueError."""
    from email_validator import EmailNotValidError, validate_email

    if not isinstance(value, str):
        raise ValueError("must be an email address")
    try:
        checked = validate_email(
            value, check_deliverability=False, test_environment=True, allow_smtputf8=False
        )
    except EmailNotValidError as exc:
        reason = str(exc)
        if "internationalized" in reason.lower() or "SMTPUTF8" in reason:
            reason = "non-ASCII characters before the @ need SMTPUTF8, which is not supported"
        raise ValueError(f"not a valid email address ({reason})") from None
    return checked.ascii_email or checked.normalized


_MAILBOX = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$"
)
_BREAKS = "\r\n\x0b\x0c\x85\u2028\u2029"


def check_sender(value: str) -> str:
    """A sender such as `Paper Digest <digest@example.org>` (localhost allowed)."""
    from email.utils import parseaddr

    if any(ch in value for ch in _BREAKS):
        raise ValueError("cannot contain a line break")
    name, addr = parseaddr(value)
    if not addr or not _MAILBOX.match(addr) or (value.count("<") > 1):
        raise ValueError(
            f"{value!r} is not an address; write it as name@example.org or "
            "'Name <name@example.org>'"
        )
    return value


def check_list_id(value: str) -> str:
    """`list.id`: an identifier such as papers.example.org, optionally `Name <ident>`."""
    if any(ch in value for ch in _BREAKS):
        raise ValueError("cannot contain a line break")
    ident = value.rpartition("<")[2].rstrip(">").strip() if "<" in value else value.strip()
    if not re.fullmatch(
        r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)+", ident
    ):
        raise ValueError(
            f"{value!r} is not a list identifier; use a dotted name such as "
            "papers.example.org (or 'Name <papers.example.org>')"
        )
    return value
