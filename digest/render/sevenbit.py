"""HTML that mail carries as it is: 7-bit, in lines far below SMTP's 998-octet limit.

A message part that is ASCII in short lines needs no transfer encoding, so building the
message costs nothing per byte and the raw message stays readable (the most conservative
form for mail servers and spam filters). Two rewrites get the email's HTML there, neither
changing what a mail client or browser shows:

- every non-ASCII character becomes a numeric character reference ("é" -> "&#233;");
- the space before the first attribute of a start tag becomes a line break
  ('<p class="x">' -> '<p\\nclass="x">'): white space between attributes is white space, so
  the document's text, where a line break could show as a space, is never touched.

Character references mean nothing inside <style> and <script>, so a document holding non-ASCII
there is left as it is (`applies` is False) and goes out base64-encoded instead.

The email is rendered from a template compiled once (digest.render.email): the rewrite is
applied to the template's markup once (`template_source`), to each cached card once, and to
every value the template prints (`finalize`), which gives the same bytes as rewriting each
finished document (`seven_bit`, what the per-subscriber MJML path does).
"""

from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup, escape

_START_TAG = re.compile(r"<([A-Za-z][A-Za-z0-9]*) +")
_RAW_TEXT = re.compile(r"<(style|script)\b[^>]*>(.*?)</\1", re.IGNORECASE | re.DOTALL)
_JINJA = re.compile(r"(\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\})", re.DOTALL)


def applies(html: str) -> bool:
    """False when <style> or <script> holds non-ASCII (character references would show)."""
    return html.isascii() or all(m.group(2).isascii() for m in _RAW_TEXT.finditer(html))


def _ascii(html: str) -> str:
    return html if html.isascii() else html.encode("ascii", "xmlcharrefreplace").decode("ascii")


def seven_bit(html: str) -> str:
    """The rewritten document (see the module docstring); idempotent. A plain str: on
    Markup, re.sub would join its pieces with Markup.join and escape the new tags."""
    return _ascii(_START_TAG.sub("<\\1\n", str(html)))


def template_source(source: str) -> str:
    """The rewrite applied to the markup of a Jinja template, leaving its tags alone (a
    character reference inside a Jinja string would be escaped again when printed)."""
    parts = _JINJA.split(source)
    parts[::2] = [seven_bit(p) for p in parts[::2]]
    return "".join(parts)


def finalize(value: Any) -> Any:
    """Jinja `finalize` for the compiled email: a printed value with non-ASCII is escaped and
    gets character references (Markup, so autoescape leaves it). Markup we print (the
    cards) is rewritten when cached."""
    if isinstance(value, str) and not value.isascii():
        if not isinstance(value, Markup):
            value = escape(value)
        return Markup(value.encode("ascii", "xmlcharrefreplace").decode("ascii"))  # noqa: S704
    return value
