"""Papers for the selection tests: the 62-paper seed and the recorded Hugging Face daily
list (/work/shared/fixtures/hf_daily_papers_2026-06-12.json, bundled as
digest/data/hf_daily_papers_sample.json), read here directly so these tests do not depend
on the Hugging Face source module."""

from __future__ import annotations

import json
from datetime import datetime
from importlib import resources

from digest.models import Paper
from digest.sources.sample import trending


def seed_papers() -> list[Paper]:
    return trending("sample")


def hf_papers() -> list[Paper]:
    raw = resources.files("digest").joinpath("data", "hf_daily_papers_sample.json")
    out = []
    for entry in json.loads(raw.read_text(encoding="utf-8")):
        p = entry["paper"]
        out.append(
            Paper(
                id=f"arxiv:{p['id']}",
                title=" ".join(p["title"].split()),
                abstract=" ".join(p.get("summary", "").split()),
                authors=tuple(a["name"] for a in p.get("authors", [])),
                keywords=tuple(p.get("ai_keywords") or ()),
                published=datetime.fromisoformat(p["publishedAt"].replace("Z", "+00:00")),
                upvotes=p.get("upvotes"),
                comments=entry.get("numComments"),
                sources=("hf",),
                source_types=("huggingface",),
            )
        )
    return out


def all_papers() -> list[Paper]:
    return seed_papers() + hf_papers()


def by_title(papers: list[Paper], fragment: str) -> Paper:
    found = [p for p in papers if fragment.lower() in p.title.lower()]
    assert len(found) == 1, f"{fragment!r} names {len(found)} papers"
    return found[0]
