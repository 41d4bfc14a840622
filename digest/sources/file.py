"""Local files of papers: JSON, JSON Lines or CSV.

`path:` is relative to the folder of config.yaml; `format:` defaults to the suffix
(.json, .jsonl / .ndjson, .csv). Files are UTF-8.

File format
-----------
JSON: a list of records, or an object `{"papers": [...]}`. JSONL: one record per line.
CSV: a header row naming the fields. Each record has:

| field      | required | meaning                                                         |
|------------|----------|-----------------------------------------------------------------|
| title      | yes      | the paper's title                                               |
| id         | no       | an arXiv id (`2401.01234`, `arXiv:2401.01234v2`, an abs link), |
|            |          | a DOI, or any other stable id                                   |
| abstract   | no       | plain text (the sample's files call it `abstract` too)          |
| authors    | no       | a list of names; in CSV one string, names separated by `; `     |
| url        | no       | the landing / abstract page                                     |
| pdf_url    | no       | the PDF                                                         |
| code_url   | no       | the code repository                                             |
| doi        | no       | `10.1234/abc` (or a doi.org link)                               |
| categories | no       | a list (CSV: `; `-separated), e.g. `cs.LG; cs.CL`               |
| keywords   | no       | a list (CSV: `; `-separated)                                    |
| published  | no       | ISO 8601, e.g. `2024-01-05` or `2024-01-05T12:00:00Z` (UTC if no offset) |
| upvotes    | no       | an integer from 0 to 10^9 (larger is capped; anything else ignored) |
| comments   | no       | the same                                                        |

The id of a paper is derived as everywhere else: an arXiv id (from `id`, `url` or `doi`)
gives `arxiv:<id>`, else a DOI gives `doi:<doi>`, else `url`/`id` gives `url:<...>`, else
the title gives `title:<hash>`. Unknown fields (e.g. the sample's `listed`) are ignored.
Links that are not http(s) are dropped; an arXiv paper gets arXiv's abstract and PDF links
when the file gives none.

A bad record (no title, not an object, a JSONL line that is not JSON, a short CSV row
without its title) is skipped and logged as a warning on the `digest.sources` logger,
naming the file and the first few record (JSON) or line (JSONL, CSV) numbers. The source
fails only when the file is not JSON/CSV at all or no record in it is usable. JSONL lines
end at "\n" (or "\r\n"); U+2028/U+2029/U+0085 inside a string are part of the record.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path
from typing import Any

from digest.errors import SourceError
from digest.models import Paper
from digest.normalize import (
    arxiv_id,
    canonical_id,
    clean_text,
    count,
    normalize_doi,
    parse_datetime,
    tidy_links,
)
from digest.parse_errors import json_error, json_reason

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_REPORTED = 5  # skipped records named in the warning
log = logging.getLogger("digest.sources")


def fetch(config: Any, ctx: Any) -> list[Paper]:
    root = Path(getattr(ctx, "root", None) or ".")
    path = Path(config.path).expanduser()
    if not path.is_absolute():
        path = root / path
    fmt = config.format or _format_of(path)
    if fmt is None:
        raise SourceError(
            config.name,
            f"cannot tell the format of {path.name}",
            hint="name it .json, .jsonl or .csv, or set format: json|jsonl|csv",
        )
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise SourceError(config.name, f"{path} is larger than 64 MB")
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SourceError(
            config.name,
            f"file {str(path)!r} does not exist",
            hint="path is relative to the folder of config.yaml",
        ) from None
    except UnicodeDecodeError as exc:
        raise SourceError(config.name, f"{path.name} is not UTF-8 ({exc.reason})") from None
    except OSError as exc:
        raise SourceError(config.name, f"cannot read {path}: {exc.strerror or exc}") from None
    return parse_text(text, fmt, config.name, where=path.name)


def _format_of(path: Path) -> str | None:
    return {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}.get(
        path.suffix.lower()
    )


def parse_text(text: str, fmt: str, source_name: str, where: str = "file") -> list[Paper]:
    """The papers of a file's text. A bad record (no title, not an object, a line that is
    not JSON) is skipped and logged; the source fails only when no record is usable."""
    if fmt == "json":
        records = _json_records(text, source_name, where)
        label = "record"
    elif fmt == "jsonl":
        records = _jsonl_records(text)
        label = "line"
    elif fmt == "csv":
        records = _csv_records(text, source_name, where)
        label = "line"
    else:
        raise SourceError(source_name, f"unknown file format {fmt!r}; use json, jsonl or csv")
    papers: list[Paper] = []
    skipped: list[str] = []
    for number, record in records:
        if isinstance(record, str):  # why it could not be read, with where
            skipped.append(record)
        elif not isinstance(record, dict):
            skipped.append(f"{label} {number}: not an object")
        else:
            paper = record_to_paper(record, source_name)
            if paper is None:
                skipped.append(f"{label} {number}: no title")
            else:
                papers.append(paper)
    if skipped and not papers:
        raise SourceError(
            source_name,
            f"{where}: no usable record ({skipped[0]}"
            + (f"; {len(skipped) - 1} more" if len(skipped) > 1 else "")
            + ")",
            hint="each record needs a title; see the file format in the docs",
        )
    if skipped:
        shown = "; ".join(skipped[:MAX_REPORTED])
        more = f"; {len(skipped) - MAX_REPORTED} more" if len(skipped) > MAX_REPORTED else ""
        log.warning(
            "source %r: %s: skipped %d of %d records (%s%s)",
            source_name,
            where,
            len(skipped),
            len(skipped) + len(papers),
            shown,
            more,
        )
    return papers


def _json_records(text: str, source_name: str, where: str) -> list[tuple[int, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(
            source_name,
            f"{where}: malformed JSON at {json_error(exc)}",
            hint="check the file is a JSON list of papers (for one paper a line, name it .jsonl)",
        ) from None
    if isinstance(data, dict) and isinstance(data.get("papers"), list):
        data = data["papers"]
    if not isinstance(data, list):
        raise SourceError(source_name, f'{where}: expected a list of papers or {{"papers": [...]}}')
    return list(enumerate(data, start=1))


def _jsonl_records(text: str) -> list[tuple[int, Any]]:
    # "\n" only: str.splitlines() also splits at U+2028, U+2029 and U+0085, which are legal
    # inside a JSON string, and would cut such a record in two.
    records: list[tuple[int, Any]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        try:
            records.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            where = f"line {number}, column {exc.colno}"
            records.append((number, f"{where}: not valid JSON: {json_reason(exc)}"))
    return records


def _csv_records(text: str, source_name: str, where: str) -> list[tuple[int, Any]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        fieldnames = reader.fieldnames
    except csv.Error as exc:
        raise SourceError(source_name, f"{where}: malformed CSV header: {exc}") from None
    if not fieldnames or "title" not in [f.strip() for f in fieldnames]:
        raise SourceError(
            source_name,
            f"{where}: the CSV header has no 'title' column",
            hint="the first row names the fields: title, id, abstract, authors, url, ...",
        )
    records: list[tuple[int, Any]] = []
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # e.g. a field over the size limit: skip that row
            # the reader resets and goes on with the next line: this cannot loop forever;
            # line_num has not counted the bad line yet
            line = reader.line_num + 1
            records.append((line, f"line {line}: unreadable CSV ({exc})"))
            continue
        # the line the row ends on (blank lines skipped; its last for a multi-line field)
        records.append((reader.line_num, {(k or "").strip(): v for k, v in row.items()}))
    return records


def _list(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else str(value).split(";")
    return tuple(clean_text(str(v)) for v in items if clean_text(str(v)))


def _str(value: Any) -> str | None:
    if value is None:
        return None
    text = clean_text(str(value))
    return text or None


def record_to_paper(record: dict[str, Any], source_name: str) -> Paper | None:
    raw_title = record.get("title")
    if isinstance(raw_title, bool) or not isinstance(raw_title, str | int | float):
        return None
    title = clean_text(str(raw_title))  # "0" is a title
    if title == "":
        return None
    raw_id = _str(record.get("id"))
    url = _str(record.get("url"))
    doi = normalize_doi(_str(record.get("doi"))) or normalize_doi(raw_id)
    ident = arxiv_id(raw_id) or arxiv_id(url) or arxiv_id(doi)
    published = parse_datetime(_str(record.get("published")))
    paper = Paper(
        id=canonical_id(arxiv=ident, doi=doi, guid=raw_id, url=url, title=title),
        title=title,
        abstract=clean_text(_str(record.get("abstract")) or _str(record.get("summary"))),
        authors=_list(record.get("authors")),
        url=url,
        pdf_url=_str(record.get("pdf_url")),
        code_url=_str(record.get("code_url")),
        doi=doi,
        categories=_list(record.get("categories")),
        keywords=_list(record.get("keywords")),
        published=published,
        upvotes=count(record.get("upvotes")),
        comments=count(record.get("comments")),
        sources=(source_name,),
        source_types=("file",),
    )
    # a `javascript:` url is dropped; an arXiv paper then still gets its abstract link
    return tidy_links(paper)
