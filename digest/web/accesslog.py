"""uvicorn's access log with the bearer tokens masked.

Manage, unsubscribe and confirm links carry their token in the path (`/manage/<token>`) or
in the query string (`/unsubscribe?token=<token>`). Whoever holds one acts as the reader,
so it must not end up in log files; the route, method and status still do, because
operators want them. uvicorn formats these lines itself (they never pass through
digest.logs.redact), so a filter on the "uvicorn.access" logger rewrites the path in the
record's arguments before any handler formats it.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus

from digest.logs import MASK

ACCESS_LOGGER = "uvicorn.access"
# Everything after one of these prefixes is (part of) a token: a token cut in two by a
# stray `/` is a 404, but its parts are just as real. Case-insensitive for the same reason.
_TOKEN_SEGMENT = re.compile(r"(/(?:manage|unsubscribe|confirm)/)[^?#]+", re.IGNORECASE)
_TOKEN_KEYS = frozenset({"token"})


def mask_path(path: str) -> str:
    """`path` (with its query string, as uvicorn logs it) with every token replaced by MASK."""
    path, question, query = path.partition("?")
    path = _TOKEN_SEGMENT.sub(lambda m: m.group(1) + MASK, path)
    if question:
        query = "&".join(_mask_parameter(part) for part in query.split("&"))
    return path + question + query


def _mask_parameter(part: str) -> str:
    key, equals, _value = part.partition("=")
    # Keys are compared decoded, as the app reads them: `%74oken=` is `token=` too.
    if equals and unquote_plus(key).strip().lower() in _TOKEN_KEYS:
        return f"{key}={MASK}"
    return part


class MaskTokens(logging.Filter):
    """Masks the request path of uvicorn access records: (client, method, path, http, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], mask_path(args[2]), *args[3:])
        return True


def install(logger: logging.Logger | None = None) -> MaskTokens:
    """Attach the filter to uvicorn's access logger (once). Call it after uvicorn.Config
    has configured logging, before the server runs."""
    logger = logger or logging.getLogger(ACCESS_LOGGER)
    for existing in logger.filters:
        if isinstance(existing, MaskTokens):
            return existing
    mask = MaskTokens()
    logger.addFilter(mask)
    return mask
