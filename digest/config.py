"""config.yaml -> one validated, typed settings object.

The schema is declared once, each field with its default and a description (the README
documents the same keys). Validation collects every problem with its key path, names the
nearest valid key for a typo, and raises one ConfigError. Secrets never live in the file:
keys ending in `_env` name the environment variable that holds them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import Field, ValidationError, field_validator

from digest.config_sources import (  # noqa: F401 - re-exported: the schema lives here too
    SOURCE_TYPES,
    ArxivFeedSource,
    ArxivSource,
    FeedSource,
    FileSource,
    HuggingFaceSource,
    SampleSource,
    SourceConfig,
)
from digest.config_values import (  # noqa: F401 - re-exported
    _MAILBOX,
    Model,
    check_list_id,
    check_sender,
    check_timezone,
    normalize_email,
)
from digest.errors import ConfigError

if TYPE_CHECKING:
    from digest.models import Subscriber

DEFAULT_CONFIG_NAME = "config.yaml"
FEED_CAP = 5000  # the largest feeds.max_entries (see FeedsConfig)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


# --------------------------------------------------------------------------- topics
class TopicConfig(Model):
    name: str = Field(description="Shown as the section heading; subscribers refer to it.")
    query: str | None = Field(
        None,
        description='Query: words, "phrases", AND/OR/NOT, (), title:/abstract:/author:/'
        "category:/source: scopes. Empty: rank by popularity (trending).",
    )
    description: str = ""
    min_score: float = Field(0.0, ge=0, description="Papers scoring below are not sent.")

    @field_validator("query")
    @classmethod
    def _query(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError(
                "the query is empty; remove the key for a trending topic (ranked by popularity)"
            )
        return value

    max_papers: int | None = Field(None, ge=1, description="At most this many per digest.")
    authors: list[str] = Field(default_factory=list, description="Always include their papers.")
    similar_to: list[str] = Field(
        default_factory=list, description="Example papers (ids or titles): more like these."
    )
    similarity: Literal["tfidf", "semantic"] = "tfidf"
    min_similarity: float = Field(0.2, ge=0, le=1)
    boost_upvotes: float = Field(0.0, ge=0, description="Weight of Hugging Face upvotes.")
    boost_recency: float = Field(0.0, ge=0, description="Weight of freshness.")


# --------------------------------------------------------------------------- subscribers
class SubscriberConfig(Model):
    email: str
    name: str = ""
    topics: list[str] = Field(default_factory=list, description="Topic names; empty: all.")
    cadence: Literal["daily", "weekly"] = "daily"
    weekday: int = Field(0, ge=0, le=6, description="For weekly: monday..sunday (or 0-6).")
    max_papers: int = Field(20, ge=1, le=500)
    timezone: str | None = None
    send_empty: bool = False
    authors: list[str] = Field(default_factory=list)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return normalize_email(value)

    def to_subscriber(self) -> Subscriber:
        """The subscriber as it flows through the pipeline."""
        from digest.models import Subscriber

        return Subscriber(
            email=self.email,
            name=self.name,
            topics=tuple(self.topics),
            cadence=self.cadence,
            weekday=self.weekday,
            max_papers=self.max_papers,
            timezone=self.timezone,
            send_empty=self.send_empty,
            authors=tuple(self.authors),
            origin="config",
        )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if any(ch in value for ch in "\r\n\x0b\x0c\x85\u2028\u2029"):
            raise ValueError("a name cannot contain a line break")
        return value

    @field_validator("weekday", mode="before")
    @classmethod
    def _weekday(cls, value: Any) -> Any:
        if isinstance(value, str):
            key = value.strip().lower()
            for i, day in enumerate(WEEKDAYS):
                if key == day or (len(key) >= 3 and day.startswith(key)):
                    return i
            raise ValueError(f"unknown weekday {value!r}; use one of {', '.join(WEEKDAYS)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return None if value is None else check_timezone(value)


# --------------------------------------------------------------------------- outputs
class OutputConfig(Model):
    dir: str = Field("out", description="Where digests, feeds and the archive are written.")
    archive: bool = Field(True, description="Write the static web archive (out/archive/).")
    eml: bool = Field(True, description="Write an .eml per digest (disk delivery).")


class FeedsConfig(Model):
    all: bool = Field(True, description="One feed with every selected paper.")
    per_topic: bool = Field(True, description="One feed per topic.")
    formats: list[Literal["rss", "atom"]] = Field(default_factory=lambda: ["rss", "atom"])
    # Capped at 5,000: feedgen costs ~70 µs per entry per format, so a 5,000-entry feed
    # builds and serialises in ~0.35 s; 10,000 would take ~0.7 s (benchmarks/bench_feeds.py).
    max_entries: int = Field(
        100, ge=1, le=FEED_CAP, description="A feed keeps the last N entries (at most 5,000)."
    )


class SelectionConfig(Model):
    lookback_days: float = Field(
        7.0, gt=0, description="Papers first seen this many days ago are still candidates."
    )


class DeliveryConfig(Model):
    method: Literal["disk", "smtp"] = "disk"
    from_: str = Field("Paper Digest <digest@localhost>", alias="from")
    reply_to: str | None = None

    @field_validator("from_", "reply_to")
    @classmethod
    def _sender(cls, value: str | None) -> str | None:
        return None if value is None else check_sender(value)


class SmtpConfig(Model):
    host: str = Field("localhost", min_length=1)
    port: int | None = Field(None, ge=1, le=65535, description="Default: 587/465/25 by security.")
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password_env: str | None = Field(None, description="Environment variable with the password.")
    from_: str | None = Field(None, alias="from", description="Sender; default delivery.from.")
    connections: int = Field(1, ge=1, le=32)
    rate: float | None = Field(None, gt=0, description="At most this many messages per second.")
    timeout: float = Field(30.0, gt=0)
    ca_file: str | None = Field(None, description="PEM file of CAs to trust (else the system's).")
    verify: bool = Field(True, description="Verify the server certificate. Keep it on.")
    retry_hours: float = Field(
        72.0, gt=0, description="Keep retrying temporary failures this long."
    )
    max_attempts_per_run: int = Field(3, ge=1, le=10)
    pause_after_failures: int = Field(10, ge=1, description="Pause the batch after K in a row.")
    helo: str | None = None

    @property
    def effective_port(self) -> int:
        if self.port:
            return self.port
        return {"starttls": 587, "ssl": 465, "none": 25}[self.security]

    def password(self) -> str | None:
        return os.environ.get(self.password_env) if self.password_env else None


class ScheduleConfig(Model):
    cron: str = Field("0 7 * * *", description="When daily digests go out (crontab syntax).")
    weekly_cron: str | None = Field(None, description="When weekly digests go out; default: cron.")
    misfire_grace: int = Field(6 * 3600, ge=1, description="Seconds a late wake-up still runs.")
    lock_wait: float = Field(10.0, ge=0, description="Seconds to wait for another run's lock.")

    @field_validator("cron", "weekly_cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            from digest.cron import validate_cron

            validate_cron(value)
        return value


class WebConfig(Model):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    secret_env: str = Field("DIGEST_SECRET", description="Env var holding the signing secret.")
    confirm_hours: float = Field(48.0, gt=0)
    subscribe_rate: int = Field(5, ge=1, description="Subscribe requests per client per hour.")


class ListConfig(Model):
    id: str | None = Field(None, description="List-Id; default derived from the title.")
    unsubscribe_mailto: str | None = Field(
        None, description="mailto: address for List-Unsubscribe."
    )

    @field_validator("id")
    @classmethod
    def _id(cls, value: str | None) -> str | None:
        return None if value is None else check_list_id(value)

    @field_validator("unsubscribe_mailto")
    @classmethod
    def _mailto(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.lower().startswith("mailto:"):
            value = value[len("mailto:") :]
        if not _MAILBOX.match(value):
            raise ValueError(f"{value!r} is not an email address")
        return value


class Config(Model):
    title: str = Field(
        "Trending Papers",
        min_length=1,
        max_length=120,
        description="The digest's name (subject, header, feeds).",
    )
    timezone: str = Field("UTC", description="IANA name, e.g. Europe/Paris.")
    state: str = Field("state.sqlite", description="SQLite file holding ledgers and runs.")
    base_url: str | None = Field(None, description="Public URL of `digest serve` / the archive.")
    templates: str | None = Field(None, description="Folder whose templates override ours.")
    output: OutputConfig = Field(default_factory=OutputConfig)
    sources: list[SourceConfig] = Field(
        default_factory=lambda: [SampleSource(name="sample", type="sample")]
    )
    topics: list[TopicConfig] = Field(default_factory=list)
    subscribers: list[SubscriberConfig] = Field(default_factory=list)
    feeds: FeedsConfig = Field(default_factory=FeedsConfig)
    selection: SelectionConfig = Field(default_factory=SelectionConfig)
    delivery: DeliveryConfig = Field(default_factory=DeliveryConfig)
    smtp: SmtpConfig | None = None
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    web: WebConfig = Field(default_factory=WebConfig)
    list_: ListConfig = Field(default_factory=ListConfig, alias="list")

    # Set by load(): the folder relative paths are resolved against. Not a YAML key.
    root: Path = Field(default=Path("."), exclude=True)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return check_timezone(value)

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (or http://)")
        return value.rstrip("/")

    # Paths relative to the config file's folder.
    def path(self, value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.root / p

    @property
    def state_path(self) -> Path:
        return self.path(self.state)

    @property
    def output_dir(self) -> Path:
        return self.path(self.output.dir)

    @property
    def templates_dir(self) -> Path | None:
        return self.path(self.templates) if self.templates else None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def sender(self) -> str:
        if self.delivery.method == "smtp" and self.smtp and self.smtp.from_:
            return self.smtp.from_
        return self.delivery.from_

    def topic(self, name: str) -> TopicConfig:
        for t in self.topics:
            if t.name == name:
                return t
        raise KeyError(name)


def parse(raw: Any, root: Path = Path("."), source: str = "config") -> Config:
    """Validate a loaded YAML document. Raises ConfigError listing every problem."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of keys", [])
    from digest.config_check import cross_checks, describe, query_checks

    problems: list[str] = []
    config: Config | None = None
    try:
        config = Config.model_validate({**raw, "root": root})
    except ValidationError as exc:
        problems += [describe(e, raw) for e in exc.errors()]
    problems += cross_checks(raw)
    # Topic queries are parsed here so a bad query is a config error naming the topic.
    problems += query_checks(raw)
    if problems or config is None:
        raise ConfigError(
            f"{source} has {len(problems)} problem{'s' if len(problems) != 1 else ''}:",
            problems,
            hint="fix the keys named above; the README documents every key",
        )
    return config


def load(path: str | Path | None = None) -> Config:
    """Load config.yaml. With no path: ./config.yaml if present, else the built-in default."""
    if path is None:
        candidate = Path(DEFAULT_CONFIG_NAME)
        if not candidate.exists():
            return default_config(Path("."))
        path = candidate
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"config file {str(path)!r} does not exist", hint="check the --config path"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {str(path)!r}: {exc}") from None
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            f"{path} is not valid YAML{where}: {problem}",
            hint="check indentation, quoting (a query with a colon needs quotes) and keys "
            "given twice",
        ) from None
    config = parse(raw, root=path.resolve().parent, source=str(path))
    from digest.logs import register_config_secrets

    register_config_secrets(config)
    return config


class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe YAML that refuses a key given twice in one mapping (YAML would keep the last)."""

    def construct_mapping(self, node, deep=False):
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str | int | float | bool) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


DEFAULT_YAML = """\
title: Trending Papers
timezone: UTC
state: state.sqlite
output:
  dir: out
sources:
  - name: sample
    type: sample
topics:
  - name: Efficient LLMs
    query: '"large language model" OR LLM OR inference OR quantization'
  - name: Vision
    query: 'image OR vision OR visual OR video'
  - name: Trending
subscribers:
  - email: reader@example.org
    name: Example Reader
    topics: [Efficient LLMs, Vision, Trending]
    max_papers: 15
feeds:
  all: true
  per_topic: true
delivery:
  method: disk
"""


def default_config(root: Path) -> Config:
    """The built-in default: the bundled sample, written to ./out, state in ./state.sqlite."""
    return parse(yaml.safe_load(DEFAULT_YAML), root=root, source="built-in default config")
