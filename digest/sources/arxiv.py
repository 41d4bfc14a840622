"""The arXiv API (Atom 1.0 + OpenSearch): a search query, newest submissions first.

Pages with `start`/`max_results` and stops at the first paper the state already knows, at
`max_total`, or at the end of the results. One request every `delay` seconds (arXiv asks
for 3). arXiv reports errors as a feed with one entry titled "Error" whose id is
`.../api/errors#...`, with HTTP 400 nowadays; both fail the source with arXiv's words.
The first request never waits; the interval is kept between any two requests to the host,
across every arxiv source of the run (they share the client, see digest.http).

`url:` replaces the endpoint only: `search_query`, `start`, `max_results`, `sortBy` and
`sortOrder` are still added to it (a parameter already in the URL is replaced).
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from digest import safexml
from digest.errors import SourceError
from digest.http import http_for
from digest.models import Paper
from digest.normalize import arxiv_id, canonical_id, clean_text, normalize_doi, parse_datetime

DEFAULT_URL = "https://export.arxiv.org/api/query"
NS = {
    "a": "http://www.w3.org/2005/Atom",
    "arxiv": "http://arxiv.org/schemas/atom",
    "os": "http://a9.com/-/spec/opensearch/1.1/",
}
_GITHUB = re.compile(r"https?://(?:www\.)?github\.com/[\w.\-]+/[\w.\-]+", re.IGNORECASE)


def fetch(config: Any, ctx: Any) -> list[Paper]:
    http = http_for(ctx)
    url = config.url or DEFAULT_URL
    known = ctx.seen_ids(config.name) if hasattr(ctx, "seen_ids") else set()
    papers: list[Paper] = []
    start = 0
    while len(papers) < config.max_total:
        size = min(config.max_results, config.max_total - len(papers))
        params = {
            "search_query": config.query,
            "start": start,
            "max_results": size,
            "sortBy": "submittedDate",
            "sortOrder": "descending",
        }
        response = http.get(
            url,
            source=config.name,
            params=params,
            headers={"Accept": "application/atom+xml"},
            accept_status=(200, 400),
            timeout=config.timeout,
            min_interval=config.delay,
        )
        page, total = parse_response(response, config.name)
        reached_known = False
        for paper in page:
            if paper.id in known:
                reached_known = True
                continue
            papers.append(paper)
        start += len(page)
        if reached_known or len(page) < size or (total is not None and start >= total):
            break
    return papers[: config.max_total]


def parse_response(response: Any, source_name: str) -> tuple[list[Paper], int | None]:
    if response.looks_like_html():
        raise SourceError(
            source_name,
            f"expected an Atom feed from {response.url} but got an HTML page",
            hint="check the url: it should be the arXiv API query endpoint",
        )
    papers, total = parse_feed(response.body, source_name)
    if response.status == 400:
        raise SourceError(source_name, f"arXiv API rejected the query (HTTP 400) at {response.url}")
    return papers, total


def parse_feed(
    body: bytes, source_name: str, source_type: str = "arxiv"
) -> tuple[list[Paper], int | None]:
    """The papers of one API response and the total number of results."""
    try:
        root = safexml.parse(body)
    except ValueError as exc:
        raise SourceError(source_name, f"the arXiv API response is unreadable: {exc}") from None
    if root.tag != f"{{{NS['a']}}}feed":
        raise SourceError(
            source_name, f"expected an Atom feed, got <{etree.QName(root).localname}>"
        )
    entries = root.findall("a:entry", NS)
    for entry in entries:
        eid = _text(entry, "a:id")
        if "/api/errors" in eid or _text(entry, "a:title") == "Error" and not arxiv_id(eid):
            reason = _text(entry, "a:summary") or eid
            raise SourceError(
                source_name, f"arXiv API error: {reason}", hint="check the query syntax"
            )
    total_text = _text(root, "os:totalResults")
    total = int(total_text) if total_text.isdigit() else None
    papers = [p for p in (_paper(e, source_name, source_type) for e in entries) if p]
    return papers, total


def _text(node: Any, path: str) -> str:
    found = node.find(path, NS)
    return (found.text or "") if found is not None else ""


def _paper(entry: Any, source_name: str, source_type: str) -> Paper | None:
    eid = _text(entry, "a:id").strip()
    title = clean_text(_text(entry, "a:title"))
    if not eid or title == "":
        return None
    links = {
        (link.get("title") or link.get("rel") or ""): link.get("href")
        for link in entry.findall("a:link", NS)
    }
    doi = normalize_doi(_text(entry, "arxiv:doi")) or normalize_doi(links.get("doi"))
    ident = arxiv_id(eid)
    primary = entry.find("arxiv:primary_category", NS)
    categories = [primary.get("term")] if primary is not None and primary.get("term") else []
    categories += [c.get("term") for c in entry.findall("a:category", NS) if c.get("term")]
    comment = _text(entry, "arxiv:comment")
    code = _GITHUB.search(comment)
    authors = tuple(
        clean_text(_text(a, "a:name"))
        for a in entry.findall("a:author", NS)
        if clean_text(_text(a, "a:name"))
    )
    return Paper(
        id=canonical_id(arxiv=ident, doi=doi, url=eid, title=title),
        title=title,
        abstract=clean_text(_text(entry, "a:summary")),
        authors=authors,
        url=f"https://arxiv.org/abs/{ident}" if ident else links.get("alternate") or eid,
        pdf_url=f"https://arxiv.org/pdf/{ident}" if ident else links.get("pdf"),
        code_url=code.group(0).rstrip(".") if code else None,
        doi=doi,
        categories=tuple(dict.fromkeys(categories)),
        published=parse_datetime(_text(entry, "a:published")),
        updated=parse_datetime(_text(entry, "a:updated")),
        sources=(source_name,),
        source_types=(source_type,),
    )
