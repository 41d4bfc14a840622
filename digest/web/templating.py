"""Pages and emails of the web app, from the same Jinja environments as the digest
(digest.render.templates: shipped templates, overridable file by file from config.templates;
autoescape on for every HTML template). Also finds what the home page links to: the newest
archive page and the feeds, by looking at what the last `digest run` wrote."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jinja2

from digest.config import Config
from digest.render.templates import html_env, template_error, text_env

_ISSUE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\.(\d+))?(?:\.html)?$")


class WebTemplates:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.html = html_env(config.templates_dir)
        self.text = text_env(config.templates_dir)

    def page(self, name: str, **context: Any) -> str:
        return self._render(self.html, f"web/{name}", context)

    def email(self, name: str, **context: Any) -> tuple[str, str]:
        """(text, html) of an email from web/<name>.txt and web/<name>.html."""
        return (
            self._render(self.text, f"web/{name}.txt", context),
            self._render(self.html, f"web/{name}.html", context),
        )

    def raw(self, name: str) -> str:
        """A file served as is (the stylesheet): overridable like every template."""
        source, _, _ = self.html.loader.get_source(self.html, f"web/{name}")  # type: ignore[union-attr]
        return source

    def _render(self, env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
        base = {"title": self.config.title}
        try:
            return env.get_template(name).render({**base, **context})
        except jinja2.TemplateError as exc:
            raise template_error(name, exc) from exc


def latest_issue(archive_dir: Path) -> str | None:
    """The path (under /archive/) of the newest issue page, or None before the first run.
    Issue pages are named by date (2026-12-01, a second run 2026-12-01.2), as files or as
    folders with an index.html."""
    if not archive_dir.is_dir():
        return None
    best: tuple[str, int, str] | None = None
    for entry in archive_dir.iterdir():
        m = _ISSUE.match(entry.name)
        if not m:
            continue
        if entry.is_dir():
            if not (entry / "index.html").is_file():
                continue
            path = f"{entry.name}/"
        elif entry.suffix == ".html" and entry.is_file():
            path = entry.name
        else:
            continue
        key = (m.group(1), int(m.group(2) or 1), path)
        if best is None or key > best:
            best = key
    return best[2] if best else None


def feed_files(feeds_dir: Path) -> list[str]:
    """The feed files' names, the all-papers feeds first."""
    if not feeds_dir.is_dir():
        return []
    names = [p.name for p in feeds_dir.iterdir() if p.is_file() and p.suffix == ".xml"]
    return sorted(names, key=lambda n: (not n.startswith("all."), n))
