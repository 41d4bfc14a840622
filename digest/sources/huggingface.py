"""Hugging Face Daily Papers: GET /api/daily_papers (a JSON array; paged with `p`, `limit`).

Keeps the community signal (upvotes, comments), AI keywords, the GitHub repo and the
project page. Ids are arXiv ids, so an HF record merges with the arXiv record of the paper.
Upvotes and comments are bounded (0 to 10^9, anything else dropped: normalize.count).

`url:` replaces the endpoint only: the query parameters `date`, `limit`, `p` (the page) and
`sort` are still added to it (a parameter already in the URL is replaced). Point it at a
mirror of the API, not at one pre-built query.
"""

from __future__ import annotations

import json
from typing import Any

from digest.errors import SourceError
from digest.http import http_for
from digest.models import Paper
from digest.normalize import arxiv_id, canonical_id, clean_text, count, parse_datetime
from digest.parse_errors import json_error

DEFAULT_URL = "https://huggingface.co/api/daily_papers"


def fetch(config: Any, ctx: Any) -> list[Paper]:
    http = http_for(ctx)
    url = config.url or DEFAULT_URL
    papers: list[Paper] = []
    for page in range(config.pages):
        params = {"limit": config.limit, "p": page, "date": config.date, "sort": config.sort}
        response = http.get(
            url,
            source=config.name,
            params=params,
            headers={"Accept": "application/json"},
            timeout=config.timeout,
            cache=True,
        )
        batch = parse_response(response, config.name)
        papers += batch
        if len(batch) < config.limit:
            break
    return papers


def parse_response(response: Any, source_name: str) -> list[Paper]:
    if response.looks_like_html():
        raise SourceError(
            source_name,
            f"expected JSON from {response.url} but got an HTML page",
            hint="check the url: it should be the daily_papers API endpoint",
        )
    return parse_daily_papers(_decode(response.body, source_name), source_name, "huggingface")


def _decode(body: bytes, source_name: str) -> str:
    # JSON is UTF-8 (RFC 8259) whatever the Content-Type charset claims.
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(source_name, f"the response is not UTF-8 JSON: {exc.reason}") from None


def parse_daily_papers(text: str, source_name: str, source_type: str) -> list[Paper]:
    """Papers from the text of a daily_papers response. Raises SourceError when it is not
    the expected JSON array."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(
            source_name,
            f"malformed JSON at {json_error(exc)}",
            hint="the server sent something other than the daily_papers JSON; check the url",
        ) from None
    if isinstance(data, dict):
        message = data.get("error") or data.get("message")
        if message:
            raise SourceError(source_name, f"Hugging Face API error: {clean_text(str(message))}")
        raise SourceError(source_name, "unexpected JSON: expected a list of papers, got an object")
    if not isinstance(data, list):
        raise SourceError(source_name, "unexpected JSON: expected a list of papers")
    papers = []
    for item in data:  # counts are bounded by normalize.count: a hostile 10**30 upvotes is 10**9
        paper = _paper(item, source_name, source_type)
        if paper is not None:
            papers.append(paper)
    if data and not papers:
        raise SourceError(source_name, "unexpected JSON: no item has a paper id and a title")
    return papers


def _paper(item: Any, source_name: str, source_type: str) -> Paper | None:
    if not isinstance(item, dict):
        return None
    inner: dict[str, Any] = item["paper"] if isinstance(item.get("paper"), dict) else item
    raw_id = inner.get("id")
    pid = str(raw_id).strip() if raw_id is not None else ""
    # The top-level title is the clean one (paper.title had hard line breaks in 2024).
    title = clean_text(_str(item.get("title")) or _str(inner.get("title")))
    if not pid or not title:
        return None
    arxiv = arxiv_id(pid)
    page = f"https://huggingface.co/papers/{pid}"
    authors = tuple(
        clean_text(_str(a.get("name")))
        for a in inner.get("authors") or []
        if isinstance(a, dict) and clean_text(_str(a.get("name")))
    )
    keywords = tuple(
        clean_text(k) for k in inner.get("ai_keywords") or [] if isinstance(k, str) and k.strip()
    )
    published = None
    for value in (
        inner.get("submittedOnDailyAt"),
        inner.get("publishedAt"),
        item.get("publishedAt"),
    ):
        published = parse_datetime(_str(value))
        if published:
            break
    return Paper(
        id=canonical_id(arxiv=arxiv, url=page, title=title),
        title=title,
        abstract=clean_text(_str(inner.get("summary")) or _str(item.get("summary"))),
        authors=authors,
        url=page,
        pdf_url=f"https://arxiv.org/pdf/{arxiv}" if arxiv else None,
        code_url=_url(inner.get("githubRepo")),
        project_url=_url(inner.get("projectPage")),
        keywords=keywords,
        published=published,
        upvotes=count(inner.get("upvotes")),
        comments=count(item.get("numComments")),
        sources=(source_name,),
        source_types=(source_type,),
    )


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _url(value: Any) -> str | None:
    if isinstance(value, str) and value.strip().lower().startswith(("http://", "https://")):
        return value.strip()
    return None
