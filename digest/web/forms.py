"""Reading the subscribe and manage forms: address, topics, cadence, each validated."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.datastructures import FormData

from digest.config import Config, normalize_email
from digest.models import Cadence

MAX_FIELDS = 100


@dataclass(frozen=True, slots=True)
class Choice:
    topics: tuple[str, ...]
    cadence: Cadence
    errors: dict[str, str] = field(default_factory=dict)


def read_address(form: FormData) -> tuple[str, str | None]:
    """(normalised address, error). The raw text is returned on error, for the form."""
    raw = form.get("email")
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        return "", "Enter your email address."
    if len(text) > 254:
        return text[:254], "This address is too long."
    try:
        return normalize_email(text), None
    except ValueError:
        return text, "This is not a valid email address."


def read_choice(form: FormData, config: Config) -> Choice:
    known = [t.name for t in config.topics]
    picked = [v for v in form.getlist("topics") if isinstance(v, str)]
    errors: dict[str, str] = {}
    unknown = [p for p in picked if p not in known]
    if unknown:
        errors["topics"] = "Choose topics from the list."
    # Kept in the config's order; none ticked means every topic, as in config.yaml.
    topics = tuple(t for t in known if t in picked)
    cadence = form.get("cadence", "daily")
    if cadence not in ("daily", "weekly"):
        errors["cadence"] = "Choose daily or weekly."
        cadence = "daily"
    return Choice(topics, cadence, errors)  # type: ignore[arg-type]
