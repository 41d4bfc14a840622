"""The bundled sample: works offline, the default source of a fresh checkout."""

from __future__ import annotations

import json
from importlib import resources

from digest.models import Paper
from digest.normalize import clean_text, title_id
from digest.sources.huggingface import parse_daily_papers


def _read(name: str) -> str:
    return resources.files("digest").joinpath("data", name).read_text(encoding="utf-8")


def trending(source_name: str) -> list[Paper]:
    papers = []
    for line in _read("sample.jsonl").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        title = clean_text(record["title"])
        papers.append(
            Paper(
                id=title_id(title),
                title=title,
                abstract=clean_text(record.get("abstract")),
                sources=(source_name,),
                source_types=("sample",),
            )
        )
    return papers


def fetch(config, ctx) -> list[Paper]:
    papers = []
    if config.dataset in ("trending", "all"):
        papers += trending(config.name)
    if config.dataset in ("huggingface", "all"):
        papers += parse_daily_papers(_read("hf_daily_papers_sample.json"), config.name, "sample")
    return papers
