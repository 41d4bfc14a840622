"""Logging set-up: human-readable lines on a terminal, JSON lines with --log-format json.

Secrets never reach a log: every configured secret (the SMTP password, the signing secret)
is registered when the config is loaded, and the formatters mask it in messages and
tracebacks alike, including those of libraries (APScheduler logs through our handler).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

_SECRETS: set[str] = set()
MASK = "********"
# Loggers of libraries whose lines we format (and redact) like our own.
LIBRARY_LOGGERS = ("apscheduler",)


def register_secret(value: str | None) -> None:
    """Mask this value wherever it would appear in a log line."""
    if value and len(value) >= 4:  # shorter values would mask ordinary words
        _SECRETS.add(value)


def register_config_secrets(config: Any) -> None:
    """Register every secret a loaded config points to (its `*_env` variables)."""
    smtp = getattr(config, "smtp", None)
    if smtp is not None and smtp.password_env:
        register_secret(os.environ.get(smtp.password_env))
    web = getattr(config, "web", None)
    if web is not None and web.secret_env:
        register_secret(os.environ.get(web.secret_env))


def redact(text: str) -> str:
    # Longest first: a secret that contains another is masked whole.
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if record.exc_info:
            data["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(data, ensure_ascii=False)


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def setup_logging(verbose: int = 0, fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(
            _TextFormatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
        )
    root = logging.getLogger("digest")
    root.handlers.clear()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose >= 2 else logging.INFO if verbose else logging.WARNING)
    root.propagate = False
    for name in LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        library.handlers.clear()
        library.addHandler(handler)
        library.setLevel(logging.DEBUG if verbose >= 3 else logging.WARNING)
        library.propagate = False


def at_least(level: int) -> None:
    """Lower the threshold of our loggers to `level` (e.g. INFO for a long-running
    scheduler, whose "next run due" lines are its point) unless already lower."""
    root = logging.getLogger("digest")
    if root.level > level or root.level == logging.NOTSET:
        root.setLevel(level)
