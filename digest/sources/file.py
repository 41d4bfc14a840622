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
| upvotes    | no       | an integer                                                      |

The id of a paper is derived as everywhere else: an arXiv id (from `id`, `url` or `doi`)
gives `arxiv:<id>`, else a DOI gives `doi:<doi>`, else `url`/`id` gives `url:<...>`, else
the title gives `title:<hash>`. Unknown fields (e.g. the sample's `listed`) are ignored.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from digest.errors import SourceError
from digest.models import Paper
from digest.normalize import arxiv_id, canonical_id, clean_text, normalize_doi, parse_datetime

MAX_FILE_BYTES = 64 * 1024 * 1024


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
    records: list[tuple[int, Any]] = []
    if fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SourceError(
                source_name, f"{where}: malformed JSON (line {exc.lineno}): {exc.msg}"
            ) from None
        if isinstance(data, dict) and isinstance(data.get("papers"), list):
            data = data["papers"]
        if not isinstance(data, list):
            raise SourceError(
                source_name, f'{where}: expected a list of papers or {{"papers": [...]}}'
            )
        records = list(enumerate(data, start=1))
    elif fmt == "jsonl":
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append((number, json.loads(line)))
            except json.JSONDecodeError as exc:
                raise SourceError(
                    source_name, f"{where}: line {number} is not valid JSON: {exc.msg}"
                ) from None
    elif fmt == "csv":
        reader = csv.DictReader(io.StringIO(text, newline=""))
        if not reader.fieldnames or "title" not in [f.strip() for f in reader.fieldnames]:
            raise SourceError(source_name, f"{where}: the CSV header has no 'title' column")
        records = [
            (n, {(k or "").strip(): v for k, v in row.items()})
            for n, row in enumerate(reader, start=2)
        ]
    else:
        raise SourceError(source_name, f"unknown file format {fmt!r}; use json, jsonl or csv")
    papers = []
    for number, record in records:
        if not isinstance(record, dict):
            raise SourceError(source_name, f"{where}: record {number} is not an object")
        paper = record_to_paper(record, source_name)
        if paper is None:
            raise SourceError(source_name, f"{where}: record {number} has no title")
        papers.append(paper)
    return papers


def _list(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else str(value).split(";")
    return tuple(clean_text(str(v)) for v in items if clean_text(str(v)))


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _str(value: Any) -> str | None:
    if value is None:
        return None
    text = clean_text(str(value))
    return text or None


def record_to_paper(record: dict[str, Any], source_name: str) -> Paper | None:
    if record.get("title") is None:
        return None
    title = clean_text(str(record["title"]))  # "0" is a title
    if title == "":
        return None
    raw_id = _str(record.get("id"))
    url = _str(record.get("url"))
    doi = normalize_doi(_str(record.get("doi"))) or normalize_doi(raw_id)
    ident = arxiv_id(raw_id) or arxiv_id(url) or arxiv_id(doi)
    published = parse_datetime(_str(record.get("published")))
    return Paper(
        id=canonical_id(arxiv=ident, doi=doi, guid=raw_id, url=url, title=title),
        title=title,
        abstract=clean_text(_str(record.get("abstract")) or _str(record.get("summary"))),
        authors=_list(record.get("authors")),
        url=url or (f"https://arxiv.org/abs/{ident}" if ident else None),
        pdf_url=_str(record.get("pdf_url"))
        or (f"https://arxiv.org/pdf/{ident}" if ident else None),
        code_url=_str(record.get("code_url")),
        doi=doi,
        categories=_list(record.get("categories")),
        keywords=_list(record.get("keywords")),
        published=published,
        upvotes=_int(record.get("upvotes")),
        sources=(source_name,),
        source_types=("file",),
    )
