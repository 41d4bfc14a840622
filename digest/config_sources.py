"""The `sources:` entries of config.yaml: one model per source `type`."""

from __future__ import annotations

import datetime as _dt
from typing import Annotated, Literal

from pydantic import Field, field_validator

from digest.config_values import Model


class SourceBase(Model):
    name: str = Field(description="A short name for the source, unique in the config.")
    enabled: bool = Field(True, description="Set to false to skip the source.")
    max_papers: int | None = Field(None, ge=1, description="Keep at most this many papers.")
    timeout: float = Field(30.0, gt=0, description="Total seconds allowed for one fetch.")


class SampleSource(SourceBase):
    type: Literal["sample"]
    dataset: Literal["trending", "huggingface", "all"] = Field(
        "all", description="trending: the 62 seed papers; huggingface: a recorded daily list."
    )


class HuggingFaceSource(SourceBase):
    type: Literal["huggingface"]
    url: str | None = Field(
        None, description="Replaces the daily_papers endpoint; date, limit, p, sort are added."
    )
    date: str | None = Field(None, description="YYYY-MM-DD; default: the latest list.")
    limit: int = Field(50, ge=1, le=100, description="Papers per page.")
    pages: int = Field(1, ge=1, le=20, description="How many pages to read.")
    sort: Literal["publishedAt", "trending"] | None = None

    @field_validator("date")
    @classmethod
    def _date(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                _dt.date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"{value!r} is not a date; use YYYY-MM-DD") from None
        return value


class ArxivSource(SourceBase):
    type: Literal["arxiv"]
    query: str = Field(description='arXiv search_query, e.g. cat:cs.LG AND abs:"diffusion"')
    url: str | None = Field(
        None, description="Replaces the API endpoint; the query parameters are still added."
    )
    max_results: int = Field(100, ge=1, le=2000, description="Papers per page.")
    max_total: int = Field(500, ge=1, le=30000, description="Stop after this many papers.")
    delay: float = Field(
        3.0, ge=0, description="Seconds between requests to the host (at least 3 for arXiv)."
    )


class ArxivFeedSource(SourceBase):
    type: Literal["arxiv-feed"]
    categories: list[str] = Field(min_length=1, description="e.g. [cs.LG, cs.CL]")
    format: Literal["rss", "atom"] = "rss"
    announce_type: list[Literal["new", "cross", "replace", "replace-cross"]] = Field(
        default_factory=lambda: ["new", "cross"]
    )
    url: str | None = Field(None, description="Replaces the feed URL in full.")


class FeedSource(SourceBase):
    type: Literal["feed"]
    url: str = Field(description="Any RSS or Atom feed.")


class FileSource(SourceBase):
    type: Literal["file"]
    path: str = Field(description="A .json, .jsonl or .csv file of papers.")
    format: Literal["json", "jsonl", "csv"] | None = Field(None, description="Default: by suffix.")


SourceConfig = Annotated[
    SampleSource | HuggingFaceSource | ArxivSource | ArxivFeedSource | FeedSource | FileSource,
    Field(discriminator="type"),
]
SOURCE_TYPES = {
    "sample": SampleSource,
    "huggingface": HuggingFaceSource,
    "arxiv": ArxivSource,
    "arxiv-feed": ArxivFeedSource,
    "feed": FeedSource,
    "file": FileSource,
}
