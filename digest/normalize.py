"""Text clean-up, canonical paper ids and the cross-source merge.

Ids: `arxiv:<id without version>`, else `doi:<lower-cased doi>`, else `url:<guid or link>`,
else `title:<hash of the normalised title>`. TeX is kept as written (`$\\ln\\ln T$`):
rendering decides how to show it, and keyword matching works on the raw text.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime

from digest.models import Paper

_WS = re.compile(r"\s+")
# C0/C1 controls (NEL U+0085 among them), the Unicode line/paragraph separators and what XML
# 1.0 forbids. They become a space, not nothing: `Control\x00chars` is two words.
_ILLEGAL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufffe\uffff\ud800-\udfff]")
# Bidi embeddings, overrides (LRE RLE PDF LRO RLO) and isolates (LRI RLI FSI PDI): a stray
# U+202E in a title reverses the rest of the line in the email, the feeds and the archive,
# and an unclosed one leaks into the text around it. They are dropped. The plain marks
# LRM/RLM (U+200E/U+200F) and ALM (U+061C) are kept: zero-width strong characters that can
# only nudge neutral characters next to them, never reorder a run or leak past the text,
# and right-to-left names and titles need them to show punctuation and numbers correctly.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
# Upvotes and comments: a hostile or broken source must not claim 10**30 of them.
MAX_COUNT = 10**9

# New-style (0704.0001 onwards, 4 or 5 digits after the dot) and old-style
# (archive[.SUBJ]/YYMMNNN) arXiv identifiers, each with an optional version.
_NEW_ID = r"\d{4}\.\d{4,5}"
_OLD_ID = r"[a-z][a-z\-]*(?:\.[A-Za-z]{2})?/\d{7}"
_ARXIV_RE = re.compile(
    r"^(?:arxiv:|oai:arxiv\.org:|(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/"
    r"|10\.48550/arxiv\.)?"
    rf"(?P<id>{_NEW_ID}|{_OLD_ID})(?:v\d+)?(?:\.pdf)?/?$",
    re.IGNORECASE,
)
_DOI_PREFIX = re.compile(r"^(?:doi:\s*|https?://(?:dx\.)?doi\.org/)", re.IGNORECASE)


def clean_text(value: str | None) -> str:
    """Decode HTML entities, drop bidi overrides, turn control characters into spaces,
    collapse whitespace."""
    if not value:
        return ""
    value = html.unescape(value)
    value = _BIDI_CONTROLS.sub("", value)
    value = _ILLEGAL.sub(" ", value)
    return _WS.sub(" ", value).strip()


def count(value: object) -> int | None:
    """A non-negative count (upvotes, comments) from an int, an integral float or a string
    of digits, capped at MAX_COUNT; None for anything else (negative, fractional, NaN,
    infinite, a bool, text)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\+?\d+", text):
            # int() of a 5,000-digit string is slow, and any such number is over the cap
            return _bounded(int(text)) if len(text) <= 30 else MAX_COUNT
        if "_" in text:  # float() would read "1_0" as 10
            return None
        try:
            value = float(text)  # "3.0", "1e3"
        except ValueError:
            return None
    if isinstance(value, int):
        return _bounded(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")) or not value.is_integer():
            return None
        return _bounded(int(value))
    return None


def _bounded(number: int) -> int | None:
    return None if number < 0 else min(number, MAX_COUNT)


def web_url(value: str | None) -> str | None:
    """`value` when it is an http(s) link with a host and nothing a reader could be fooled
    by (whitespace, control or bidi characters); else None."""
    if not value:
        return None
    value = value.strip()
    if not re.match(r"(?i)https?://[^\s/?#]", value):
        return None
    if any(c.isspace() for c in value) or _ILLEGAL.search(value) or _BIDI_CONTROLS.search(value):
        return None
    return value


def tidy_links(paper: Paper) -> Paper:
    """Links that are not http(s) dropped; an arXiv paper without a (safe) abstract or PDF
    link gets arXiv's own."""
    url, pdf_url = web_url(paper.url), web_url(paper.pdf_url)
    code_url, project_url = web_url(paper.code_url), web_url(paper.project_url)
    kind, _, ident = paper.id.partition(":")
    if kind == "arxiv" and arxiv_id(ident) == ident:
        url = url or f"https://arxiv.org/abs/{ident}"
        pdf_url = pdf_url or f"https://arxiv.org/pdf/{ident}"
    if (url, pdf_url, code_url, project_url) == (
        paper.url,
        paper.pdf_url,
        paper.code_url,
        paper.project_url,
    ):
        return paper
    return replace(paper, url=url, pdf_url=pdf_url, code_url=code_url, project_url=project_url)


def title_key(title: str) -> str:
    """The normalised form of a title used to derive ids and to spot duplicates."""
    folded = unicodedata.normalize("NFKD", clean_text(title)).casefold()
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return " ".join(re.findall(r"\w+", folded))


def title_id(title: str) -> str:
    """A stable id for a paper that has no other: a hash of its normalised title."""
    return "title:" + hashlib.sha256(title_key(title).encode()).hexdigest()[:16]


def arxiv_id(value: str | None) -> str | None:
    """The versionless arXiv id in an id, `arXiv:` / `oai:` form, abs or pdf link, or arXiv
    DOI; None when `value` is not one of those."""
    if not value:
        return None
    match = _ARXIV_RE.match(value.strip())
    if not match:
        return None
    ident = match.group("id")
    if "/" in ident:  # old style: the archive is lower case, the subject class is dropped
        archive, number = ident.split("/")
        return f"{archive.split('.')[0].lower()}/{number}"
    return ident


def normalize_doi(value: str | None) -> str | None:
    """`10.1234/ABC` from `doi:10.1234/abc`, `https://doi.org/...`, `http://dx.doi.org/...`,
    lower-cased (DOIs are case-insensitive); None when it is not a DOI."""
    if not value:
        return None
    doi = _DOI_PREFIX.sub("", value.strip()).strip()
    if not re.match(r"^10\.\d{4,9}/\S+$", doi):
        return None
    return doi.lower()


def canonical_id(
    *,
    arxiv: str | None = None,
    doi: str | None = None,
    guid: str | None = None,
    url: str | None = None,
    title: str = "",
) -> str:
    """The canonical id from whatever a source knows. An arXiv id hidden in a guid, a link or
    an arXiv DOI (10.48550/arXiv.*) wins over everything else."""
    for candidate in (arxiv, guid, url, doi):
        found = arxiv_id(candidate)
        if found:
            return f"arxiv:{found}"
    normal_doi = normalize_doi(doi)
    if normal_doi:
        return f"doi:{normal_doi}"
    for candidate in (guid, url):
        if candidate and candidate.strip():
            return f"url:{candidate.strip()}"
    return title_id(title)


def html_to_text(value: str | None) -> str:
    """Readable text from an HTML fragment (a feed summary): tags, scripts, styles and
    comments dropped, block boundaries kept as spaces, entities decoded."""
    if not value:
        return ""
    if "<" not in value:
        return clean_text(value)
    from lxml import etree
    from lxml import html as lxml_html

    try:
        root = lxml_html.fragment_fromstring(
            value, create_parent="div", parser=lxml_html.HTMLParser(no_network=True)
        )
    except (etree.ParserError, ValueError):
        return clean_text(re.sub(r"<[^>]*>", " ", value))
    for bad in root.xpath("//script|//style|//head|//template"):
        bad.drop_tree()
    for block in root.iter(
        "p", "br", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"
    ):
        block.tail = " " + (block.tail or "")
    return clean_text(root.text_content())


def parse_datetime(value: str | None) -> datetime | None:
    """An aware datetime from ISO 8601 or RFC 822 text; UTC when no offset is given."""
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --------------------------------------------------------------------------- merge
def _union(*groups: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for group in groups:
        for item in group:
            seen.setdefault(item, None)
    return tuple(seen)


def _first(*values):
    for value in values:
        if value:
            return value
    return None


def _pick(values, choose):
    present = [v for v in values if v is not None]
    return choose(present) if present else None


def merge_two(a: Paper, b: Paper) -> Paper:
    """One paper from two records of it: `a` wins ties; a real id beats a title id."""
    ident = a.id if not a.id.startswith("title:") or b.id.startswith("title:") else b.id
    return replace(
        a,
        id=ident,
        # "0" is a real title: only an empty title gives way
        title=a.title if a.title != "" else b.title,
        abstract=a.abstract if len(a.abstract) >= len(b.abstract) else b.abstract,
        authors=a.authors or b.authors,
        url=_first(a.url, b.url),
        pdf_url=_first(a.pdf_url, b.pdf_url),
        code_url=_first(a.code_url, b.code_url),
        project_url=_first(a.project_url, b.project_url),
        doi=_first(a.doi, b.doi),
        categories=_union(a.categories, b.categories),
        keywords=_union(a.keywords, b.keywords),
        published=_pick((a.published, b.published), min),
        updated=_pick((a.updated, b.updated), max),
        upvotes=_pick((a.upvotes, b.upvotes), max),
        comments=_pick((a.comments, b.comments), max),
        sources=_union(a.sources, b.sources),
        source_types=_union(a.source_types, b.source_types),
    )


def merge_papers(papers: Iterable[Paper]) -> list[Paper]:
    """The same paper from several sources becomes one, in first-seen order. Records match
    by id, by DOI (an arXiv paper that carries a DOI and a `doi:` record), and by normalised
    title when one of the two has only a title id."""
    merged: dict[int, Paper] = {}  # slot -> paper
    alias: dict[str, int] = {}  # id / doi:x / title key -> slot
    for paper in papers:
        keys = [paper.id]
        if paper.doi and normalize_doi(paper.doi):
            keys.append(f"doi:{normalize_doi(paper.doi)}")
        slot = next((alias[k] for k in keys if k in alias), None)
        tkey = "tk:" + title_key(paper.title) if title_key(paper.title) else None
        if slot is None and tkey and tkey in alias:
            other = merged[alias[tkey]]
            if paper.id.startswith("title:") or other.id.startswith("title:"):
                slot = alias[tkey]
        if slot is None:
            slot = len(merged)
            merged[slot] = paper
        else:
            merged[slot] = merge_two(merged[slot], paper)
        current = merged[slot]
        for key in (*keys, current.id):
            alias.setdefault(key, slot)
        if current.doi and normalize_doi(current.doi):
            alias.setdefault(f"doi:{normalize_doi(current.doi)}", slot)
        if tkey:
            alias.setdefault(tkey, slot)
    return [merged[i] for i in range(len(merged))]
