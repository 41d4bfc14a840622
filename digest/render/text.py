"""The plain-text twin: the same context as the HTML email, rendered from email/digest.txt.

Reads well in a terminal mail client: paragraphs wrapped at 72 columns, links referenced by
number ("Abstract [3]") and listed once at the end under "Links:".
"""

from __future__ import annotations

from typing import Any

import jinja2

from digest.render.templates import template_error

TEXT_TEMPLATE = "email/digest.txt"


class LinkRefs:
    """Numbers URLs in the order the template first mentions them; a repeat keeps its number."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self._index: dict[str, int] = {}

    def __call__(self, url: str) -> str:
        n = self._index.get(url)
        if n is None:
            self.urls.append(url)
            n = self._index[url] = len(self.urls)
        return f"[{n}]"

    def listing(self) -> list[tuple[int, str]]:
        return list(enumerate(self.urls, start=1))


class TextRenderer:
    def __init__(self, env: jinja2.Environment) -> None:
        self.env = env
        try:
            self.template = env.get_template(TEXT_TEMPLATE)
        except jinja2.TemplateError as exc:
            raise template_error(TEXT_TEMPLATE, exc) from exc

    def render(self, ctx: dict[str, Any]) -> str:
        refs = LinkRefs()
        try:
            text = self.template.render(ctx, ref=refs, refs=refs)
        except jinja2.TemplateError as exc:
            raise template_error(TEXT_TEMPLATE, exc) from exc
        # "-- " (with its space) is the signature delimiter mail clients recognise.
        lines = [line if line == "-- " else line.rstrip() for line in text.splitlines()]
        # Collapse runs of blank lines the template's conditionals leave behind.
        out: list[str] = []
        for line in lines:
            if line or (out and out[-1]):
                out.append(line)
        while out and not out[-1]:
            out.pop()
        return "\n".join(out) + "\n"
