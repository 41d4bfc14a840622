"""arXiv's daily announcement feeds: https://rss.arxiv.org/rss/<cats> (RSS 2.0) or
/atom/<cats> (Atom), categories joined with `+`.

Each item's description reads `arXiv:<id>v<N> Announce Type: <type> \\nAbstract: <text>`;
`dc:creator` is one comma-separated string whose parenthesised affiliations may hold commas.
A bad category still returns a valid channel titled "Feed error for query: ..." (a failure);
a weekend or holiday feed has no items (0 papers, not an error).

`url:` is used as it is: nothing is added to it (the categories and `format:` only build
the default URL).
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

DEFAULT_BASE = "https://rss.arxiv.org"
NS = {
    "a": "http://www.w3.org/2005/Atom",
    "arxiv": "http://arxiv.org/schemas/atom",
    "dc": "http://purl.org/dc/elements/1.1/",
}
_DESCRIPTION = re.compile(
    r"^\s*arXiv:(?P<id>\S+)\s+Announce Type:\s*(?P<type>[\w\-]+)\s*"
    r"(?:Abstract:\s*)?(?P<abstract>.*)$",
    re.DOTALL,
)


def feed_url(config: Any) -> str:
    return config.url or f"{DEFAULT_BASE}/{config.format}/{'+'.join(config.categories)}"


def fetch(config: Any, ctx: Any) -> list[Paper]:
    response = http_for(ctx).get(
        feed_url(config),
        source=config.name,
        headers={"Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9"},
        timeout=config.timeout,
        cache=True,
    )
    if response.looks_like_html():
        raise SourceError(
            config.name,
            f"expected an RSS or Atom feed from {response.url} but got an HTML page",
            hint="check the url and the categories",
        )
    return parse_feed(response.body, config.name, tuple(config.announce_type))


def parse_feed(
    body: bytes, source_name: str, announce_types: tuple[str, ...] = ("new", "cross")
) -> list[Paper]:
    try:
        root = safexml.parse(body)
    except ValueError as exc:
        raise SourceError(source_name, f"the arXiv feed is unreadable: {exc}") from None
    if etree.QName(root).localname == "rss":
        channel = root.find("channel")
        if channel is None:
            raise SourceError(source_name, "the RSS document has no <channel>")
        _check_error(channel.findtext("title"), channel.findtext("description"), source_name)
        records = [_rss_item(item) for item in channel.findall("item")]
    elif root.tag == f"{{{NS['a']}}}feed":
        _check_error(
            root.findtext("a:title", namespaces=NS),
            root.findtext("a:subtitle", namespaces=NS),
            source_name,
        )
        records = [_atom_entry(entry) for entry in root.findall("a:entry", NS)]
    else:
        raise SourceError(
            source_name, f"expected an RSS or Atom feed, got <{etree.QName(root).localname}>"
        )
    papers = []
    for record in records:
        if record["type"] not in announce_types:
            continue
        paper = _paper(record, source_name)
        if paper is not None:
            papers.append(paper)
    return papers


def _check_error(title: str | None, description: str | None, source_name: str) -> None:
    if title and title.strip().lower().startswith("feed error"):
        detail = clean_text(description) or clean_text(title)
        raise SourceError(
            source_name, f"arXiv feed error: {detail}", hint="check the categories (e.g. cs.LG)"
        )


def _rss_item(item: Any) -> dict[str, Any]:
    return {
        "title": item.findtext("title"),
        "link": item.findtext("link"),
        "guid": item.findtext("guid"),
        "description": item.findtext("description") or "",
        "categories": [c.text for c in item.findall("category") if c.text],
        "date": item.findtext("pubDate"),
        "type": (item.findtext("arxiv:announce_type", namespaces=NS) or "").strip(),
        "creator": item.findtext("dc:creator", namespaces=NS) or "",
        "doi": item.findtext("arxiv:DOI", namespaces=NS),
    }


def _atom_entry(entry: Any) -> dict[str, Any]:
    link = next(
        (
            x.get("href")
            for x in entry.findall("a:link", NS)
            if x.get("rel", "alternate") == "alternate"
        ),
        None,
    )
    creator = entry.findtext("dc:creator", namespaces=NS) or ", ".join(
        n.text or "" for n in entry.findall("a:author/a:name", NS)
    )
    return {
        "title": entry.findtext("a:title", namespaces=NS),
        "link": link,
        "guid": entry.findtext("a:id", namespaces=NS),
        "description": entry.findtext("a:summary", namespaces=NS) or "",
        "categories": [c.get("term") for c in entry.findall("a:category", NS) if c.get("term")],
        "date": entry.findtext("a:published", namespaces=NS),
        "type": (entry.findtext("arxiv:announce_type", namespaces=NS) or "").strip(),
        "creator": creator,
        "doi": entry.findtext("arxiv:DOI", namespaces=NS),
    }


def _paper(record: dict[str, Any], source_name: str) -> Paper | None:
    title = clean_text(record["title"])
    match = _DESCRIPTION.match(record["description"])
    abstract = match.group("abstract") if match else record["description"]
    ident = (
        arxiv_id(match.group("id") if match else None)
        or arxiv_id(record["guid"])
        or arxiv_id(record["link"])
    )
    if title == "" or not (ident or record["link"]):
        return None
    announce = record["type"] or (match.group("type") if match else "")
    date = parse_datetime(record["date"])
    fresh = announce in ("new", "cross", "")
    doi = normalize_doi(record["doi"])
    return Paper(
        id=canonical_id(arxiv=ident, doi=doi, url=record["link"], title=title),
        title=title,
        abstract=clean_text(abstract),
        authors=split_creators(record["creator"]),
        url=f"https://arxiv.org/abs/{ident}" if ident else record["link"],
        pdf_url=f"https://arxiv.org/pdf/{ident}" if ident else None,
        doi=doi,
        categories=tuple(dict.fromkeys(clean_text(c) for c in record["categories"])),
        # a replacement's first appearance was earlier, on a day the feed does not say
        published=date if fresh else None,
        updated=None if fresh else date,
        sources=(source_name,),
        source_types=("arxiv-feed",),
    )


def split_creators(value: str) -> tuple[str, ...]:
    """Author names from `dc:creator`: split on commas outside parentheses, affiliations
    (the parenthesised parts) dropped, a final "and" tolerated."""
    names: list[str] = []
    depth = 0
    current: list[str] = []
    for ch in value:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            names.append("".join(current))
            current = []
            continue
        if depth == 0 and ch != ")":
            current.append(ch)
    names.append("".join(current))
    cleaned = []
    for name in names:
        name = clean_text(re.sub(r"^\s*and\s+", "", name))
        if name:
            cleaned.append(name)
    return tuple(cleaned)
