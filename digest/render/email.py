"""The HTML email: MJML compiled once per run, Jinja per subscriber.

The naive path is Jinja(email/digest.mjml) -> MJML -> mjml2html for every subscriber; mjml2html
dominates its cost. The fast path runs mjml2html once on the template *source* (Jinja tags
survive: mjml copies mj-text / mj-raw / mj-title / mj-preview content verbatim) and uses the
resulting HTML as the per-subscriber Jinja template. Each paper's card is rendered once per
run and reused. Both paths produce the same bytes; the first digest of a run is rendered both
ways and compared, and a template override that breaks the equivalence (Jinja inside an MJML
attribute, say) makes the renderer fall back to the naive path for the run.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import jinja2
from markupsafe import Markup

from digest.models import Digest, Links, Match, Paper
from digest.render import sevenbit, view
from digest.render.templates import template_error

log = logging.getLogger(__name__)

MJML_TEMPLATE = "email/digest.mjml"
CARD_TEMPLATE = "email/card.html"
_CACHE_LIMIT = 20000
# Jinja comments, with their whitespace control, removed before mjml sees the source.
# mjml drops whitespace that holds a newline between two tags; cards get the same treatment
# so that a card inserted after compilation reads exactly as mjml would have printed it.
_BETWEEN_TAGS = re.compile(r">[ \t\r\n]*\n[ \t\r\n]*<")
_COMMENT = re.compile(r"(\s*)\{#(-?).*?(-?)#\}(\s*)", re.DOTALL)


def _strip_comments(source: str) -> str:
    def repl(m: re.Match[str]) -> str:
        return ("" if m.group(2) else m.group(1)) + ("" if m.group(3) else m.group(4))

    return _COMMENT.sub(repl, source)


def mjml_to_html(source: str, name: str = MJML_TEMPLATE) -> str:
    import mjml  # imported here: `import digest.render` stays light

    try:
        # fonts={}: no web-font @import. mjml-python's default links Google Fonts for any
        # font-family naming Roboto, Lato...: a request to Google from every reader who opens
        # the email (a privacy leak), for a font the system stack already covers.
        return mjml.mjml2html(source, fonts={})
    except Exception as exc:  # noqa: BLE001 - mjml raises plain exceptions on bad markup
        raise template_error(name, exc) from exc


class EmailRenderer:
    def __init__(self, env: jinja2.Environment, title: str, slugs: dict[str, str]) -> None:
        self.env = env
        self.title = title
        self.slugs = slugs
        self.mode = "compiled"  # or "naive" once an override proved not to compile
        # The HTML is made 7-bit (digest.render.sevenbit) unless the template's <style> holds
        # non-ASCII; decided when the template is compiled.
        self.seven_bit = True
        self._verified = False
        self._compiled: jinja2.Template | None = None
        self._papers: dict[str, tuple[Paper, view.PaperView]] = {}
        self._entries: dict[tuple[Any, ...], _Entry] = {}
        self._by_id: dict[int, tuple[Match, _Entry]] = {}
        try:
            self._card_template = env.get_template(CARD_TEMPLATE)
            self._mjml_template = env.get_template(MJML_TEMPLATE)
        except jinja2.TemplateError as exc:
            raise template_error(getattr(exc, "name", None) or MJML_TEMPLATE, exc) from exc

    # ------------------------------------------------------------------ pieces
    # The caches are keyed by what a view is made of, not by the Match or Paper themselves:
    # hashing those frozen dataclasses hashes every field (the abstract, the author tuple)
    # on every lookup. The entry keeps the Paper it was made from; a different Paper under
    # the same id (a rare re-fetch) replaces it.
    def paper(self, paper: Paper) -> view.PaperView:
        hit = self._papers.get(paper.id)
        if hit is None or (hit[0] is not paper and hit[0] != paper):
            if len(self._papers) > _CACHE_LIMIT:
                self._papers.clear()
            hit = self._papers[paper.id] = (paper, view.paper_view(paper))
        return hit[1]

    def _entry(self, match: Match) -> _Entry:
        # The same Match object usually reaches every subscriber: found by identity first
        # (the entry holds the Match, so its id cannot be reused while cached).
        hit = self._by_id.get(id(match))
        if hit is not None and hit[0] is match:
            return hit[1]
        key = (match.paper.id, match.topic, match.score, match.reasons)
        entry = self._entries.get(key)
        if entry is None or (entry.paper is not match.paper and entry.paper != match.paper):
            if len(self._entries) > _CACHE_LIMIT:
                self._entries.clear()
                self._by_id.clear()
            mv = view.match_view(match, self.paper(match.paper))
            entry = self._entries[key] = _Entry(match.paper, mv)
        elif len(self._by_id) > _CACHE_LIMIT:
            self._by_id.clear()
        self._by_id[id(match)] = (match, entry)
        return entry

    def match(self, match: Match) -> view.MatchView:
        return self._entry(match).view

    def card(self, match: Match) -> Markup:
        """The card as the archive shows it (the email's copy is made 7-bit, see context)."""
        entry = self._entry(match)
        if entry.card is None:
            entry.card = self._render_card(entry.view)
        return entry.card

    def _email_card(self, entry: _Entry) -> Markup:
        if entry.card is None:
            entry.card = self._render_card(entry.view)
        if not self.seven_bit:
            return entry.card
        if entry.card7 is None:
            entry.card7 = Markup(sevenbit.seven_bit(entry.card))  # noqa: S704 - same markup
        return entry.card7

    def _render_card(self, mv: view.MatchView) -> Markup:
        try:
            # The card template autoescapes; Markup marks its output as such.
            return Markup(  # noqa: S704
                _BETWEEN_TAGS.sub("><", self._card_template.render(m=mv).strip())
            )
        except jinja2.TemplateError as exc:
            raise template_error(CARD_TEMPLATE, exc) from exc

    def context(self, digest: Digest, links: Links) -> dict[str, Any]:
        """The template context of one digest (the same for the HTML and the text twin)."""
        sections = []
        for s in digest.sections:
            if not s.matches:
                continue
            entries = [self._entry(m) for m in s.matches]
            cards = [self._email_card(e) for e in entries]
            sections.append(
                {
                    "topic": view.one_line(s.topic),
                    "slug": self.slugs.get(s.topic) or view.slugify(s.topic),
                    "count": len(entries),
                    "cards": cards,
                    # all of them, joined: one value to print instead of a loop over 15 (each
                    # printed value costs an escape() call that copies the Markup)
                    "cards_html": Markup("".join(cards)),  # noqa: S704 - cards are Markup
                    "matches": [e.view for e in entries],
                }
            )
        n_papers = sum(len(s.matches) for s in digest.sections)
        summary = view.summary_line(n_papers, len(sections))
        first = [mv for sec in sections for mv in sec["matches"][:3]][:3]
        titles = "; ".join(mv.paper.title for mv in first)
        preheader = view.cut(f"{summary}: {titles}" if titles else summary, 140)
        return {
            "subject": view.subject_line(self.title, digest),
            "preheader": preheader,
            "title": view.one_line(self.title),
            "date_label": view.long_date(digest.issue.date),
            "summary": summary,
            "sections": sections,
            "omitted": digest.omitted,
            "links": links,
            "reason": reason_line(self.title, digest),
            "subscriber": digest.subscriber,
            "issue": digest.issue,
        }

    # ------------------------------------------------------------------ paths
    def naive(self, ctx: dict[str, Any]) -> str:
        try:
            source = self._mjml_template.render(ctx)
        except jinja2.TemplateError as exc:
            raise template_error(MJML_TEMPLATE, exc) from exc
        html = mjml_to_html(source)
        if self.seven_bit and sevenbit.applies(html):
            return sevenbit.seven_bit(html)
        return html

    def compiled(self) -> jinja2.Template | None:
        if self._compiled is None and self.mode == "compiled":
            source = self._source(MJML_TEMPLATE)
            try:
                html = mjml_to_html(_strip_comments(source))
                self.seven_bit = sevenbit.applies(html)
                if self.seven_bit:
                    env = self.env.overlay(finalize=sevenbit.finalize)
                    self._compiled = env.from_string(sevenbit.template_source(html))
                else:
                    self._compiled = self.env.from_string(html)
            except jinja2.TemplateError as exc:
                log.warning("email template does not compile once (%s); using the slow path", exc)
                self.mode = "naive"
            except Exception as exc:  # noqa: BLE001 - the naive path reports real errors
                log.warning("email template does not compile once (%s); using the slow path", exc)
                self.mode = "naive"
        return self._compiled

    def _source(self, name: str) -> str:
        loader = self.env.loader
        assert loader is not None
        return loader.get_source(self.env, name)[0]

    def html(self, ctx: dict[str, Any]) -> str:
        template = self.compiled()
        if template is None:
            return self.naive(ctx)
        try:
            fast = template.render(ctx)
        except jinja2.TemplateError as exc:
            raise template_error(MJML_TEMPLATE, exc) from exc
        if not self._verified:
            self._verified = True
            if fast != self.naive(ctx):
                log.warning(
                    "the compiled email template differs from the per-subscriber MJML render; "
                    "using the slow path (keep Jinja out of MJML attributes to fix this)"
                )
                self.mode = "naive"
                self._compiled = None
                return self.naive(ctx)
        return fast


class _Entry:
    """A match as the email shows it: its view and, once rendered, its card."""

    __slots__ = ("paper", "view", "card", "card7")

    def __init__(self, paper: Paper, mv: view.MatchView) -> None:
        self.paper = paper
        self.view = mv
        self.card: Markup | None = None
        self.card7: Markup | None = None  # the card made 7-bit, for the email


def reason_line(title: str, digest: Digest) -> str:
    sub = digest.subscriber
    topics = ", ".join(view.one_line(t) for t in sub.topics) if sub.topics else "all topics"
    return (
        f"You receive the {sub.cadence} {view.one_line(title)} digest at {sub.email} "
        f"because you subscribed to: {topics}."
    )
