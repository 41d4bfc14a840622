"""Build the MIME message of a digest: multipart/alternative, text first then HTML, UTF-8.

Two builders produce equivalent messages (same headers, same decoded parts):

- `build_message` assembles the bytes directly: headers encoded with `email.utils` and C
  base64; each part 7bit when it is ASCII in lines under 998 octets (the HTML email is
  rendered so), else base64 (see `_encode_body`). Thousands of messages a second.
- `build_message_stdlib` goes through `EmailMessage` (about 176 a second); kept as the
  benchmark baseline and the reference the fast one is tested against.

Header injection is stopped twice. Text that reaches a header has every line break collapsed
(`header_safe`), and each serialised message is re-parsed (`check_headers`) and must carry
exactly the expected header names, or `MessageError` is raised and it is never sent. The second
guard matters on Python 3.11.7 (CVE-2024-6923): the email package decodes an encoded word such
as `=?UTF-8?Q?=0A?=` found in a header *value* and can write the decoded newline back out raw,
so a paper title could add a `Bcc:` header to the stdlib builder's output. The fast builder
never lets the parser decode our values: any value holding `=?` is itself encoded.
"""

from __future__ import annotations

import binascii
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, parseaddr
from functools import lru_cache

from digest.errors import DeliveryError

_BREAKS = re.compile("[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]+")
_SPACES = re.compile(r"\s+")
_CRLF = b"\r\n"

# Gmail clips a message whose HTML passes 102 KB and hides the rest behind a link.
GMAIL_CLIP_BYTES = 102 * 1024
# Head room for what Gmail counts beyond our HTML (its own wrappers, encoding overhead).
GMAIL_MARGIN_BYTES = 4 * 1024


class MessageError(DeliveryError):
    """A built message failed its own safety check; it is never sent."""


def header_safe(value: str) -> str:
    """Collapse every kind of line break, so no text can start a header of its own."""
    if value.isprintable() and "  " not in value:
        # No line break, tab or other white space but single ASCII spaces (isprintable is
        # False for every other separator): nothing to collapse.
        return value.strip()
    return _SPACES.sub(" ", _BREAKS.sub(" ", value)).strip()


def fits_gmail(html: str) -> bool:
    """True when the HTML part stays under Gmail's clipping size, with a margin.

    Past it, re-render the digest with fewer papers and an "and N more" link to the web
    version (the pipeline does this; see the README)."""
    return len(html.encode("utf-8")) < GMAIL_CLIP_BYTES - GMAIL_MARGIN_BYTES


def sender_domain(sender: str) -> str:
    """The domain of "Name <user@domain>" (or of a bare address); "localhost" if none."""
    addr = parseaddr(header_safe(sender))[1]
    domain = addr.rpartition("@")[2].strip().lower() if "@" in addr else ""
    return domain or "localhost"


def make_message_id(subscriber_key: str, issue_id: str, domain: str) -> str:
    """A Message-ID unique per (subscriber, issue), without angle brackets.

    Deterministic, so a delivery rebuilt or resent carries the same id, and opaque (a hash),
    so it does not reveal the address."""
    digest = hashlib.sha256(f"{subscriber_key}\x00{issue_id}".encode()).hexdigest()[:32]
    safe_issue = re.sub(r"[^A-Za-z0-9.-]", "-", issue_id)[:40]
    safe_domain = re.sub(r"[^A-Za-z0-9.-]", "", domain) or "localhost"
    return f"digest.{safe_issue}.{digest}@{safe_domain}"


@dataclass(frozen=True, slots=True)
class Envelope:
    subject: str
    sender: str  # "Name <addr>" or "addr"
    to_addr: str
    to_name: str
    message_id: str  # without angle brackets
    date: datetime
    list_id: str | None = None
    unsubscribe_url: str | None = None  # https one-click URL (RFC 8058)
    unsubscribe_mailto: str | None = None  # an address, or a full mailto: URL
    reply_to: str | None = None

    def __post_init__(self) -> None:
        if self.date.tzinfo is None:
            raise ValueError("Envelope.date must be timezone-aware")


# --------------------------------------------------------------------------- headers
def expected_headers(env: Envelope) -> list[str]:
    """The header names a message built from `env` carries, in order."""
    names = ["Subject", "From", "To", "Date", "Message-ID"]
    if env.reply_to:
        names.append("Reply-To")
    if env.list_id:
        names.append("List-Id")
    if _unsubscribe_targets(env):
        names.append("List-Unsubscribe")
    if env.unsubscribe_url:
        names.append("List-Unsubscribe-Post")
    names += ["MIME-Version", "Content-Type"]
    return names


def _unsubscribe_targets(env: Envelope, sep: str = ", ") -> str | None:
    targets = []
    if env.unsubscribe_mailto:
        mailto = _url_safe(env.unsubscribe_mailto)
        if not mailto.lower().startswith("mailto:"):
            mailto = f"mailto:{mailto}?subject=unsubscribe"
        targets.append(f"<{mailto}>")
    if env.unsubscribe_url:
        targets.append(f"<{_url_safe(env.unsubscribe_url)}>")
    return sep.join(targets) or None


def _url_safe(url: str) -> str:
    url = header_safe(url)
    if any(ch in url for ch in '<>" ') or not url.isascii():
        raise MessageError(f"unsafe URL for a header: {url!r}", hint="check base_url and list.*")
    return url


def _needs_encoding(value: str) -> bool:
    return not value.isascii() or "=?" in value or len(value) > 900


def _encoded_words(value: str) -> str:
    """RFC 2047 base64 encoded words, folded onto CRLF-space lines under 78 columns.

    email.header.Header does the same an order of magnitude slower (it measures the quoted
    form character by character); splitting is only ever between whole UTF-8 characters."""
    data = value.encode("utf-8")
    words = []
    while data:
        cut = min(len(data), 39)  # 39 bytes -> 52 base64 chars: "Subject: " + word < 78
        while cut < len(data) and data[cut] & 0xC0 == 0x80:
            cut -= 1
        words.append("=?utf-8?b?" + binascii.b2a_base64(data[:cut], newline=False).decode() + "?=")
        data = data[cut:]
    return "\r\n ".join(words)


def _unstructured(value: str) -> str:
    """An unstructured header value (Subject), encoded only where it must be."""
    value = header_safe(value)
    return _encoded_words(value) if _needs_encoding(value) else value


def _address(name: str, addr: str) -> str:
    name, addr = header_safe(name), header_safe(addr)
    if not name:
        return addr
    if _needs_encoding(name):  # also when it holds "=?": a reader must not decode our text
        return f"{_encoded_words(name)} <{addr}>"
    return formataddr((name, addr))


@lru_cache(maxsize=256)  # the sender: the same for every message of a run
def _mailbox(value: str) -> str:
    name, addr = parseaddr(header_safe(value))
    if not addr:
        raise MessageError(f"not an address: {value!r}", hint="check delivery.from / smtp.from")
    return _address(name, addr)


def _list_id(value: str) -> str:
    value = header_safe(value)
    if "<" in value and value.endswith(">"):
        phrase, _, ident = value.rpartition("<")
        phrase = phrase.strip()
        if phrase and _needs_encoding(phrase):
            phrase = _encoded_words(phrase)
        return f"{phrase} <{ident}" if phrase else f"<{ident}"
    return _unstructured(value)


# --------------------------------------------------------------------------- bodies
# RFC 5322 2.1.1 / RFC 2045 2.7: a 7bit body's lines MUST NOT pass 998 octets.
_MAX_7BIT_LINE = 998
# RFC 2045 6.8: base64 lines carry at most 76 characters (57 bytes of data).
_B64_LINE = 76


def _lines(text: str) -> tuple[bytes, int]:
    """The body as CRLF lines ending with a line break (what the stdlib builder makes), and
    the length of its longest line."""
    data = text.encode("utf-8")
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return _CRLF.join(lines) + _CRLF, max(map(len, lines), default=0)


def _base64(data: bytes) -> bytes:
    """base64 in 76-character CRLF lines; one C call, then slicing (email.base64mime and
    base64.encodebytes loop over 57-byte chunks in Python, several times slower)."""
    encoded = binascii.b2a_base64(data, newline=False)
    step = _B64_LINE
    return _CRLF.join([encoded[i : i + step] for i in range(0, len(encoded), step)]) + _CRLF


def _encode_body(text: str) -> tuple[bytes, bytes]:
    """(Content-Transfer-Encoding, encoded body): 7bit when the body is ASCII in lines under
    998 octets, else base64.

    The email's HTML is rendered 7-bit (digest.render.sevenbit), so it goes out as is. The
    text twin holds non-ASCII (names, "·"), so it is encoded: base64 rather than
    quoted-printable because binascii's quoted-printable encoder costs 6 ns a byte (60 us for
    a 10 KB text twin, an eighth of the whole per-subscriber budget) against 2 ns for base64
    plus line splitting. Every mail client reads both; SpamAssassin's MIME_BASE64_TEXT
    ignores UTF-8 parts and rspamd's MIME_BASE64_TEXT weighs 0.1."""
    raw, longest = _lines(text)
    if longest <= _MAX_7BIT_LINE and raw.isascii():
        return b"7bit", raw
    return b"base64", _base64(raw)


def _part(subtype: bytes, text: str) -> tuple[bytes, bool]:
    """(the part, whether its body is 7bit: only then can it hold a boundary-like line)."""
    cte, body = _encode_body(text)
    part = (
        b"Content-Type: text/" + subtype + b'; charset="utf-8"\r\n'
        b"Content-Transfer-Encoding: " + cte + b"\r\nMIME-Version: 1.0\r\n\r\n" + body
    )
    return part, cte == b"7bit"


def _boundary(parts: tuple[bytes, ...]) -> bytes:
    """A boundary found in none of `parts` (the 7bit ones: "=_" cannot occur in base64
    text, so those need no search)."""
    while True:
        boundary = b"=_" + secrets.token_hex(12).encode()
        if not any(boundary in p for p in parts):
            return boundary


@lru_cache(maxsize=64)  # one run stamps every message with the same date
def _date(when: datetime) -> str:
    return format_datetime(when)


# --------------------------------------------------------------------------- builders
def build_message(env: Envelope, text: str, html: str, *, boundary: bytes | None = None) -> bytes:
    """The fast builder: the message bytes (CRLF line ends), checked before they are returned."""
    headers = [
        ("Subject", _unstructured(env.subject)),
        ("From", _mailbox(env.sender)),
        ("To", _address(env.to_name, env.to_addr)),
        ("Date", _date(env.date)),
        ("Message-ID", f"<{header_safe(env.message_id)}>"),
    ]
    if env.reply_to:
        headers.append(("Reply-To", _mailbox(env.reply_to)))
    if env.list_id:
        headers.append(("List-Id", _list_id(env.list_id)))
    targets = _unsubscribe_targets(env, ",\r\n ")  # folded: each URL on its own line
    if targets:
        headers.append(("List-Unsubscribe", targets))
    if env.unsubscribe_url:
        headers.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    parts = (_part(b"plain", text), _part(b"html", html))
    boundary = boundary or _boundary(tuple(part for part, is_7bit in parts if is_7bit))
    head = "".join(f"{name}: {value}\r\n" for name, value in headers).encode("utf-8")
    delimiter = b"--" + boundary + _CRLF
    data = b"".join(
        (
            head,
            b'MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="',
            boundary,
            b'"\r\n\r\n',
            delimiter,
            parts[0][0],
            _CRLF,
            delimiter,
            parts[1][0],
            _CRLF,
            b"--",
            boundary,
            b"--",
            _CRLF,
        )
    )
    check_headers(data, expected_headers(env))
    return data


def build_message_stdlib(env: Envelope, text: str, html: str) -> bytes:
    """The naive EmailMessage path: the benchmark baseline and the fast builder's reference.

    On Python 3.11.7 a value holding an encoded newline makes this path emit an extra header
    (CVE-2024-6923); `check_headers` then raises MessageError instead of letting it out."""
    msg = EmailMessage(policy=SMTP)
    msg["Subject"] = header_safe(env.subject)
    msg["From"] = header_safe(env.sender)
    msg["To"] = formataddr((header_safe(env.to_name), env.to_addr)) if env.to_name else env.to_addr
    msg["Date"] = format_datetime(env.date)
    msg["Message-ID"] = f"<{header_safe(env.message_id)}>"
    if env.reply_to:
        msg["Reply-To"] = header_safe(env.reply_to)
    if env.list_id:
        msg["List-Id"] = header_safe(env.list_id)
    targets = _unsubscribe_targets(env)
    if targets:
        msg["List-Unsubscribe"] = targets
    if env.unsubscribe_url:
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(text, subtype="plain", charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    data = msg.as_bytes()
    check_headers(data, expected_headers(env))
    return data


# RFC 5322 3.6.8: a field name is one or more printable ASCII characters other than ":".
_FIELD_NAME = re.compile(rb"[!-9;-~]+")


def check_headers(data: bytes, expected: list[str]) -> None:
    """Re-parse the top-level headers of a serialised message; raise MessageError unless they
    are exactly `expected` (names, case-insensitive, in any order) with CRLF-only line ends.

    The parse follows RFC 5322 strictly, as a receiving server would: each line of the header
    block either starts a field ("name:", the name printable ASCII without a colon) or
    continues the previous one (leading space or tab); anything else is refused. That is
    stricter than the email package's parser, which records such lines as defects, and
    a tenth of its cost."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        raise MessageError("message has no header/body separator")
    block = data[:end]
    crlf = block.count(b"\r\n")
    if block.count(b"\n") != crlf or block.count(b"\r") != crlf:
        raise MessageError("a header holds a bare CR or LF (header injection refused)")
    found: list[str] = []
    for line in block.split(b"\r\n"):
        if line.startswith((b" ", b"\t")) and found:
            continue  # folded: the previous field goes on
        name, colon, _ = line.partition(b":")
        if not colon or not _FIELD_NAME.fullmatch(name):
            raise MessageError(
                f"a header line is not a field: {line[:60]!r} (header injection refused)",
                hint="a title or name carried a header break; report it with the paper id",
            )
        found.append(name.decode("ascii").lower())
    found.sort()
    if found != sorted(n.lower() for n in expected):
        extra = sorted(set(found) - {n.lower() for n in expected})
        raise MessageError(
            f"message headers {found} differ from the expected ones (unexpected: {extra});"
            " not sent",
            hint="a title or name carried a header break; report it with the paper id",
        )
