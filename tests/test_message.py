"""The MIME builders: equivalent output, safe headers, the Gmail size check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from email.parser import BytesParser
from email.policy import default

import pytest

from digest.message import (
    GMAIL_CLIP_BYTES,
    Envelope,
    MessageError,
    build_message,
    build_message_stdlib,
    check_headers,
    expected_headers,
    fits_gmail,
    header_safe,
    make_message_id,
    sender_domain,
)

INJECTION = "=?UTF-8?Q?=0A?=Bcc: x@example.org"


def envelope(**changes) -> Envelope:
    values = dict(
        subject="Trending Papers — 1 Dec 2026: Efficient LLMs, Vision and Trending",
        sender="Paper Digest <digest@example.org>",
        to_addr="reader@example.org",
        to_name="Zoë Reader",
        message_id=make_message_id("reader@example.org", "2026-12-01", "example.org"),
        date=datetime(2026, 12, 1, 7, 30, tzinfo=timezone(timedelta(hours=1))),
        list_id="Trending Papers <trending-papers.example.org>",
        unsubscribe_url="https://digest.example.org/unsubscribe?token=abc.DEF-_1",
        unsubscribe_mailto="unsubscribe@example.org",
        reply_to="Editor <editor@example.org>",
    )
    values.update(changes)
    return Envelope(**values)


TEXT = "Hello — café ☕\n\n" + "A long line of abstract text. " * 20 + "\n.\nFrom the archive\n"
HTML = "<html><body>" + "<p>Résumé of paper π</p>\n" * 300 + "</body></html>"


def parse(data: bytes):
    return BytesParser(policy=default).parsebytes(data)


@pytest.mark.parametrize(
    ("text", "html"),
    [(TEXT, HTML), ("plain ascii\n", "<p>ascii</p>"), ("no final newline", "x" * 5000), ("", "")],
)
def test_fast_builder_matches_the_stdlib_one(text, html):
    env = envelope()
    fast = parse(build_message(env, text, html))
    slow = parse(build_message_stdlib(env, text, html))
    assert [k.lower() for k in fast] == [k.lower() for k in expected_headers(env)]
    assert sorted(k.lower() for k in fast) == sorted(k.lower() for k in slow)
    for name in slow:
        if name != "Content-Type":  # differs only by the random boundary
            assert str(fast[name]) == str(slow[name]), name
    assert fast.get_content_type() == "multipart/alternative"
    fast_parts, slow_parts = list(fast.iter_parts()), list(slow.iter_parts())
    assert [p.get_content_type() for p in fast_parts] == ["text/plain", "text/html"]
    for a, b in zip(fast_parts, slow_parts, strict=True):
        assert a.get_content_charset() == "utf-8"
        assert a.get_content() == b.get_content()


def test_message_is_crlf_with_short_lines():
    data = build_message(envelope(subject="é" * 200), TEXT, "<p>" + "x" * 3000 + "</p>")
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert max(len(line) for line in data.split(b"\r\n")) <= 78


def test_required_headers():
    env = envelope()
    msg = parse(build_message(env, TEXT, HTML))
    assert msg["Date"].datetime == env.date
    assert msg["Message-ID"] == f"<{env.message_id}>"
    assert msg["List-Unsubscribe"] == (
        "<mailto:unsubscribe@example.org?subject=unsubscribe>, "
        "<https://digest.example.org/unsubscribe?token=abc.DEF-_1>"
    )
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["To"].addresses[0].display_name == "Zoë Reader"


def test_no_one_click_header_without_an_https_link():
    env = envelope(unsubscribe_url=None)
    msg = parse(build_message(env, TEXT, HTML))
    assert "List-Unsubscribe-Post" not in msg
    assert msg["List-Unsubscribe"] == "<mailto:unsubscribe@example.org?subject=unsubscribe>"


@pytest.mark.parametrize(
    "title",
    [
        INJECTION,
        "Title\r\nBcc: x@example.org",
        "Title\nBcc: x@example.org",
        "Title\x0bBcc: x@example.org",
        "Title\x0cBcc: x@example.org",
        "Title\x85Bcc: x@example.org",
        "Title\u2028Bcc: x@example.org",
        "Title\u2029Bcc: x@example.org",
        "A long title " * 8 + INJECTION,
    ],
)
def test_no_header_injection_from_a_title(title):
    data = build_message(envelope(subject=title, to_name=title), TEXT, HTML)
    msg = parse(data)
    assert "Bcc" not in msg
    assert sorted(msg.keys()) == sorted(expected_headers(envelope()))
    # The reader sees the title as text, line breaks collapsed, never decoded into a header.
    assert msg["Subject"] == header_safe(title)


def test_stdlib_path_is_caught_by_the_check():
    """CVE-2024-6923: this Python's email package writes the decoded newline back out raw.
    The stdlib builder must refuse the message instead of emitting a Bcc header."""
    with pytest.raises(MessageError):
        build_message_stdlib(envelope(subject="New: " + INJECTION), TEXT, HTML)


def test_check_headers_refuses_extra_or_missing_headers():
    good = build_message(envelope(), TEXT, HTML)
    names = expected_headers(envelope())
    check_headers(good, names)
    with pytest.raises(MessageError):
        check_headers(b"Bcc: x@example.org\r\n" + good, names)
    with pytest.raises(MessageError):
        check_headers(good, [*names, "X-Missing"])
    with pytest.raises(MessageError):
        check_headers(good.replace(b"\r\nFrom:", b"\nFrom:", 1), names)


def test_unsafe_unsubscribe_url_is_refused():
    with pytest.raises(MessageError):
        bad = "https://x.example.org/u?t=a> <https://evil"
        build_message(envelope(unsubscribe_url=bad), "", "")


def test_naive_date_is_refused():
    with pytest.raises(ValueError):
        envelope(date=datetime(2026, 12, 1, 7))


def test_message_id_is_deterministic_opaque_and_unique():
    a = make_message_id("reader@example.org", "2026-12-01", "example.org")
    assert a == make_message_id("reader@example.org", "2026-12-01", "example.org")
    assert a != make_message_id("reader@example.org", "2026-12-02", "example.org")
    assert a != make_message_id("other@example.org", "2026-12-01", "example.org")
    assert "reader" not in a and a.endswith("@example.org")
    assert sender_domain("Paper Digest <digest@Mail.Example.org>") == "mail.example.org"
    assert sender_domain("nobody") == "localhost"


def test_boundary_never_occurs_in_a_part():
    data = build_message(envelope(), "text", "<p>html</p>", boundary=b"fixed-boundary")
    assert data.count(b"--fixed-boundary") == 3
    msg = parse(data)
    assert [p.get_content() for p in msg.iter_parts()] == ["text\r\n", "<p>html</p>\r\n"]


def test_fits_gmail():
    assert fits_gmail("<p>small</p>")
    assert not fits_gmail("x" * GMAIL_CLIP_BYTES)
    # Bytes, not characters: 40 k three-byte characters is 120 KB.
    assert not fits_gmail("€" * 40_000)
    assert fits_gmail("x" * (GMAIL_CLIP_BYTES - 8 * 1024))


def test_fast_builder_is_fast():
    """The performance issue measures properly; this guards against a regression to the
    stdlib's speed (about 176 a second) with a generous bound for a loaded CI machine."""
    import time

    env = envelope(date=datetime(2026, 12, 1, tzinfo=UTC))
    start = time.perf_counter()
    for _ in range(200):
        build_message(env, TEXT, HTML)
    assert 200 / (time.perf_counter() - start) > 400


def test_transfer_encodings():
    """7bit for an ASCII part in lines under 998 octets (the rendered email's HTML), base64
    otherwise; both decode to what was given."""
    html7 = '<p\nclass="x">Caf&#233; ' + "y" * 900 + "</p>\n" * 40
    data = build_message(envelope(), TEXT, html7)
    msg = parse(data)
    plain, rich = msg.iter_parts()
    assert (plain["Content-Transfer-Encoding"], rich["Content-Transfer-Encoding"]) == (
        "base64",
        "7bit",
    )
    assert rich.get_content().replace("\r\n", "\n") == html7
    assert plain.get_content().replace("\r\n", "\n") == TEXT
    long_line = parse(build_message(envelope(), "ascii\n", "<p>" + "x" * 998 + "</p>"))
    assert [p["Content-Transfer-Encoding"] for p in long_line.iter_parts()] == ["7bit", "base64"]
    assert max(len(line) for line in data.split(b"\r\n")) <= 998


@pytest.mark.parametrize(
    "bad",
    [b"Bcc x@example.org\r\n", b"Bcc : x@example.org\r\n", b" folded first\r\n", b"\r\n"],
)
def test_check_headers_refuses_lines_that_are_not_fields(bad):
    good = build_message(envelope(), TEXT, HTML)
    with pytest.raises(MessageError):
        check_headers(bad + good, expected_headers(envelope()))
