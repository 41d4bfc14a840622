"""Any RSS or Atom feed (a lab blog, a journal's table of contents), read with feedparser.

The body is checked by digest.safexml first: feedparser's expat parser would otherwise read
an internal DTD subset. The check runs on the bytes expat will actually see (feedparser's own
conversion to UTF-8, so an EBCDIC, UTF-32 or UTF-7 document cannot hide a DOCTYPE from a
byte scan), and lxml's safe parser gives a second opinion before feedparser runs.
HTML in titles and summaries becomes plain text. `url:` is used as it is. A malformed
document fails the source with `malformed XML at line N, column M: ...`.
"""

from __future__ import annotations

import io
import xml.sax
from datetime import UTC, datetime
from typing import Any

import feedparser
from feedparser.encodings import convert_to_utf8

from digest import safexml
from digest.errors import SourceError
from digest.http import http_for
from digest.models import Paper
from digest.normalize import canonical_id, clean_text, html_to_text, normalize_doi, tidy_links
from digest.parse_errors import xml_error

# Bozo reasons that leave a usable feed: a charset header that disagrees with the document.
_HARMLESS = (feedparser.CharacterEncodingOverride,)


def fetch(config: Any, ctx: Any) -> list[Paper]:
    response = http_for(ctx).get(
        config.url,
        source=config.name,
        headers={
            "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5"
        },
        timeout=config.timeout,
        cache=True,
    )
    if response.looks_like_html():
        raise SourceError(
            config.name,
            f"expected an RSS or Atom feed from {response.url} but got an HTML page",
            hint="use the feed's own address (often /feed, /rss or /atom.xml)",
        )
    return parse_feed(response.body, config.name, base_url=response.url)


def parse_feed(body: bytes, source_name: str, base_url: str | None = None) -> list[Paper]:
    # Bytes without the response headers: the document's own declaration decides the
    # encoding, so a wrong charset header cannot garble it.
    headers = {"content-type": "application/xml"}
    if base_url:
        headers["content-location"] = base_url
    try:
        body = safexml.check(body)
        _refuse_declarations(body, headers)
    except safexml.UnsafeXMLError as exc:
        raise SourceError(source_name, str(exc)) from None
    if not body.strip():
        raise SourceError(source_name, "the feed is empty (no content)")
    # A stream, never a string: feedparser treats a string as a URL or a file name.
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
    problem = parsed.get("bozo_exception")
    if parsed.get("bozo") and not isinstance(problem, _HARMLESS):
        raise SourceError(
            source_name, _describe(problem, body), hint="the server sent a broken or cut-off feed"
        )
    if not parsed.get("version"):
        raise SourceError(source_name, "not an RSS or Atom feed")
    papers = []
    for entry in parsed.entries:
        paper = _paper(entry, parsed.feed, source_name)
        if paper is not None:
            papers.append(paper)
    return papers


def _refuse_declarations(body: bytes, headers: dict[str, str]) -> None:
    """Raise UnsafeXMLError if what feedparser would hand to expat declares entities or an
    internal DTD subset. feedparser.parse converts `body` with this same function and the
    same headers, so these are exactly the bytes its parsers read."""
    seen = convert_to_utf8(dict(headers), body, {})
    safexml.check(seen)
    if safexml.declares_entities(seen):
        raise safexml.UnsafeXMLError(safexml.UNSAFE_MESSAGE)


def _describe(problem: Any, body: bytes) -> str:
    """feedparser's bozo exception in words: `<unknown>:57:244: not well-formed` becomes
    `malformed XML at line 57, column 245: <reason>`."""
    if isinstance(problem, xml.sax.SAXParseException):
        # feedparser parses a rewritten document (an XML declaration added or replaced),
        # so its positions can be off by a line: the safe parser reads the original bytes.
        try:
            safexml.parse(body)
        except ValueError as exc:
            return str(exc)
        column = problem.getColumnNumber()
        # expat counts columns from 0
        return xml_error(
            problem.getLineNumber(),
            column + 1 if isinstance(column, int) and column >= 0 else None,
            problem.getMessage(),
        )
    if isinstance(problem, feedparser.CharacterEncodingUnknown):
        return "cannot tell the feed's character encoding (it declares none that works)"
    if isinstance(problem, feedparser.NonXMLContentType):
        return "the server did not send XML"
    text = str(problem or "").strip()
    return f"unreadable feed: {text.splitlines()[0] if text else type(problem).__name__}"


def _text_of(entry: Any, key: str) -> str:
    value = entry.get(key)
    if value is None:
        return ""
    detail = entry.get(f"{key}_detail") or {}
    if detail.get("type") in ("text/html", "application/xhtml+xml"):
        return html_to_text(value)
    return clean_text(value)


def _paper(entry: Any, feed: Any, source_name: str) -> Paper | None:
    title = _text_of(entry, "title")
    link = entry.get("link")
    guid = entry.get("id")
    if title == "" and not link:
        return None
    summary = entry.get("summary") or ""
    if not summary and entry.get("content"):
        summary = entry["content"][0].get("value", "")
    authors = tuple(
        clean_text(a.get("name")) for a in entry.get("authors") or [] if clean_text(a.get("name"))
    ) or tuple(
        clean_text(a.get("name")) for a in feed.get("authors") or [] if clean_text(a.get("name"))
    )
    doi = normalize_doi(entry.get("prism_doi") or entry.get("dc_identifier"))
    paper = Paper(
        id=canonical_id(doi=doi, guid=guid, url=link, title=title),
        title=title or clean_text(link),
        abstract=html_to_text(summary),
        authors=authors,
        url=link or None,
        doi=doi,
        categories=tuple(
            dict.fromkeys(
                clean_text(t.get("term")) for t in entry.get("tags") or [] if t.get("term")
            )
        ),
        # dict.get: FeedParserDict.get maps a missing updated_parsed to published_parsed
        published=_when(dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")),
        updated=_when(dict.get(entry, "updated_parsed")),
        sources=(source_name,),
        source_types=("feed",),
    )
    # a `javascript:` link is dropped; an arXiv paper then still gets its abstract link
    return tidy_links(paper)


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime(*value[:6]).replace(tzinfo=UTC)  # feedparser normalises to UTC
    except (TypeError, ValueError):
        return None
