"""Renderer: the one object the pipeline uses to turn selections into emails, feeds and the
archive. Built once per run (templates loaded, the email's MJML compiled)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import jinja2

from digest.models import Digest, Issue, Links, Match
from digest.render import view
from digest.render.email import EmailRenderer
from digest.render.templates import html_env, template_error, text_env
from digest.render.text import TextRenderer


class Renderer:
    def __init__(self, config: Any) -> None:
        self.config = config
        user_dir = config.templates_dir
        self.html_env = html_env(user_dir)
        self.text_env = text_env(user_dir)
        self.slugs = view.topic_slugs([t.name for t in config.topics])
        self.email = EmailRenderer(self.html_env, config.title, self.slugs)
        self.text = TextRenderer(self.text_env)
        self.email.compiled()  # MJML -> HTML template, once

    # ------------------------------------------------------------------ email
    def render_digest(self, digest: Digest, links: Links) -> tuple[str, str, str]:
        """(subject, html, text) of one subscriber's digest."""
        ctx = self.email.context(digest, links)
        return ctx["subject"], self.email.html(ctx), self.text.render(ctx)

    def render_digest_naive(self, digest: Digest, links: Links) -> tuple[str, str, str]:
        """The reference path (Jinja -> MJML -> mjml2html per subscriber), for benchmarks and
        to check the compiled path against."""
        ctx = self.email.context(digest, links)
        return ctx["subject"], self.email.naive(ctx), self.text.render(ctx)

    # ------------------------------------------------------------------ outputs
    def write_feeds(
        self,
        conn: sqlite3.Connection,
        topic_matches: dict[str, list[Match]],
        issue: Issue,
        out_dir: Path,
    ) -> list[Path]:
        from digest.render.feeds import write_feeds

        return write_feeds(self, conn, topic_matches, issue, Path(out_dir))

    def write_archive(
        self,
        conn: sqlite3.Connection,
        issue: Issue,
        topic_matches: dict[str, list[Match]],
        out_dir: Path,
    ) -> list[Path]:
        from digest.render.archive import write_archive

        return write_archive(self, conn, issue, topic_matches, Path(out_dir))

    def archive_url(self, issue: Issue) -> str | None:
        from digest.render.archive import issue_file

        if self.config.base_url:
            return f"{self.config.base_url}/archive/{issue_file(issue.id)}"
        if self.config.output.archive:
            return (self.config.output_dir / "archive" / issue_file(issue.id)).resolve().as_uri()
        return None

    # ------------------------------------------------------------------ helpers
    def slug(self, topic: str) -> str:
        return self.slugs.get(topic) or view.slugify(topic)

    def render_html(self, name: str, ctx: dict[str, Any]) -> str:
        try:
            return self.html_env.get_template(name).render(ctx)
        except jinja2.TemplateError as exc:
            raise template_error(name, exc) from exc

    def render_text(self, name: str, ctx: dict[str, Any]) -> str:
        try:
            return self.text_env.get_template(name).render(ctx)
        except jinja2.TemplateError as exc:
            raise template_error(name, exc) from exc

    def archive_base(self, out_dir: Path) -> str | None:
        if self.config.base_url:
            return f"{self.config.base_url}/archive"
        if self.config.output.archive:
            return (Path(out_dir) / "archive").resolve().as_uri()
        return None

    def feed_url(self, name: str, out_dir: Path) -> str:
        if self.config.base_url:
            return f"{self.config.base_url}/feeds/{name}"
        return (Path(out_dir) / "feeds" / name).resolve().as_uri()

    def feed_alternate(self, out_dir: Path) -> str:
        base = self.archive_base(out_dir)
        if base:
            return f"{base}/index.html"
        if self.config.base_url:
            return f"{self.config.base_url}/"
        return (Path(out_dir) / "feeds").resolve().as_uri() + "/"

    def feed_links(self, prefix: str) -> list[tuple[str, str]]:
        """(label, url) of every feed this config writes, urls relative (prefix + file)."""
        cfg = self.config.feeds
        keys = []
        if cfg.all:
            keys.append(("All topics", "all"))
        if cfg.per_topic:
            keys += [(view.one_line(t.name), self.slug(t.name)) for t in self.config.topics]
        names = {"rss": "RSS", "atom": "Atom"}
        return [
            (f"{label} ({names[fmt]})", f"{prefix}{key}.{fmt}.xml")
            for label, key in keys
            for fmt in cfg.formats
        ]
