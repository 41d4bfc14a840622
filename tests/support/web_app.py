"""Helpers for the web app's tests: a config in a temp folder, the app with a FixedClock,
and the confirmation emails read back from the disk outbox."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from digest.clock import FixedClock
from digest.config import Config, parse

SECRET = "test-secret-0123456789abcdef"  # noqa: S105 (a test key)
START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
TOPICS = [
    {
        "name": "Efficient LLMs",
        "query": '"large language model" OR LLM OR inference OR quantization',
        "description": "Smaller, faster language models",
    },
    {"name": "Vision", "query": "image OR vision OR visual OR video"},
    {"name": "Trending"},
]


def make_config(root: Path, **overrides: Any) -> Config:
    raw: dict[str, Any] = {
        "title": "Test Digest",
        "base_url": "https://digest.example.org",
        "topics": TOPICS,
        "subscribers": [{"email": "config-reader@example.org", "topics": ["Vision"]}],
        "delivery": {"method": "disk", "from": "Test Digest <digest@example.org>"},
    }
    raw.update(overrides)
    return parse(raw, root=root)


def make_clock(at: datetime = START) -> FixedClock:
    return FixedClock(at)


def outbox_messages(config: Config) -> list[email.message.EmailMessage]:
    folder = config.output_dir / "outbox"
    if not folder.is_dir():
        return []
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for p in sorted(folder.glob("*.eml"))
    ]


def text_body(message: email.message.EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()


def link_in(message: email.message.EmailMessage, kind: str) -> str:
    """The first absolute link to /<kind>/... in the text part."""
    found = re.search(rf"https?://\S+/{kind}/\S+", text_body(message))
    assert found, f"no /{kind}/ link in:\n{text_body(message)}"
    return found.group(0)


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def issued_token(config: Config, email: str, secret: str = SECRET) -> str:
    """The manage/unsubscribe token of `email`, recorded in the state as a digest run
    records it when it composes the links."""
    from digest.store.db import open_db
    from digest.unsubscribe import issue_token

    conn = open_db(config.state_path)
    try:
        return issue_token(conn, email, secret, START)
    finally:
        conn.close()
