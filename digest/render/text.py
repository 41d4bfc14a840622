"""The plain-text twin: the same context as the HTML email, rendered from email/digest.txt.

Reads well in a terminal mail client: paragraphs wrapped at 72 columns, links referenced by
number ("Abstract [3]") and listed once at the end under "Links:".

Each paper's block (email/paper.txt) is rendered once per run and reused for every
subscriber; only its "[n]" link numbers differ from one subscriber to the next (they count
from the top of each message). See `PaperBlocks`.
"""

from __future__ import annotations

import re
from typing import Any

import jinja2

from digest.render.templates import template_error

TEXT_TEMPLATE = "email/digest.txt"
PAPER_TEMPLATE = "email/paper.txt"
_CACHE_LIMIT = 20000
# A reused block holds placeholders where its link numbers go: one private-use character per
# link, repeated to the width of the number, so wrapping sees the line the reader gets.
_SLOT0 = 0xE000
_MAX_SLOTS = 256
_SLOTS = re.compile("[\ue000-\ue0ff]+")


class LinkRefs:
    """Numbers URLs in the order the template first mentions them; a repeat keeps its number."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self._index: dict[str, int] = {}

    def number(self, url: str) -> int:
        n = self._index.get(url)
        if n is None:
            self.urls.append(url)
            n = self._index[url] = len(self.urls)
        return n

    def __call__(self, url: str) -> str:
        return f"[{self.number(url)}]"

    def listing(self) -> list[tuple[int, str]]:
        return list(enumerate(self.urls, start=1))

    def listing_text(self) -> str:
        """The "[n] url" lines, built in one go (a template loop costs more than the rest of
        the text twin)."""
        return "".join([f"[{n}] {url}\n" for n, url in enumerate(self.urls, start=1)])


class _SlotRefs:
    """`ref` while a block is rendered for reuse: records the URLs, returns placeholders."""

    def __init__(self, widths: tuple[int, ...] = ()) -> None:
        self.urls: list[str] = []
        self.calls = 0
        self._widths = widths
        self._slot: dict[str, int] = {}

    def __call__(self, url: str) -> str:
        self.calls += 1
        slot = self._slot.get(url)
        if slot is None:
            slot = self._slot[url] = len(self.urls)
            self.urls.append(url)
        width = self._widths[slot] if slot < len(self._widths) else 1
        return "[" + chr(_SLOT0 + min(slot, _MAX_SLOTS - 1)) * width + "]"


class _Block:
    """One paper's text at one position: the URLs it references, in first-mention order, and
    per combination of number widths the text cut at the numbers (None: not reusable)."""

    __slots__ = ("match", "urls", "variants")

    def __init__(self, match: Any, urls: list[str]) -> None:
        self.match = match  # held so that id(match), the cache key, stays this object's
        self.urls = urls
        # (a %-template with "%d" per number, the slot of each "%d" when not 0, 1, 2, ...)
        self.variants: dict[tuple[int, ...], tuple[str, list[int] | None] | None] = {}


class PaperBlocks:
    """`paper_text(m, n)` for email/digest.txt: the block of MatchView `m` at position `n`.

    The block template sees only m, n, ref and the filters, so its output depends on nothing
    else: rendered once with placeholders for the link numbers, it is reused by filling in
    each subscriber's numbers. The placeholders have the width of the numbers they stand
    for, so wrapping is the same. If the placeholders do not come out intact (a paper's text
    holds private-use characters, a template edits what ref() returns), that block is
    rendered per subscriber instead: slower, same text."""

    def __init__(self, template: jinja2.Template) -> None:
        self.template = template
        self._blocks: dict[tuple[int, int], _Block] = {}

    def __call__(self, refs: LinkRefs, m: Any, n: int) -> str:
        block = self._blocks.get((id(m), n))
        if block is None or block.match is not m:
            block = self._discover(m, n)
        numbers = [refs.number(url) for url in block.urls]
        widths = tuple([1 if x < 10 else len(str(x)) for x in numbers])
        try:
            variant = block.variants[widths]
        except KeyError:
            variant = block.variants[widths] = self._variant(block, n, widths)
        if variant is None:
            return self._render(m, n, refs)
        template, order = variant
        return template % (tuple(numbers) if order is None else tuple([numbers[i] for i in order]))

    def _render(self, m: Any, n: int, ref: Any) -> str:
        try:
            return self.template.render(m=m, n=n, ref=ref)
        except jinja2.TemplateError as exc:
            raise template_error(PAPER_TEMPLATE, exc) from exc

    def _discover(self, m: Any, n: int) -> _Block:
        if len(self._blocks) > _CACHE_LIMIT:
            self._blocks.clear()
        probe = _SlotRefs()
        self._render(m, n, probe)
        block = self._blocks[(id(m), n)] = _Block(m, probe.urls)
        return block

    def _variant(self, block: _Block, n: int, widths: tuple[int, ...]):
        if len(block.urls) > _MAX_SLOTS:
            return None
        refs = _SlotRefs(widths)
        text = self._render(block.match, n, refs)
        if refs.urls != block.urls:
            return None
        slots = []
        for run in _SLOTS.findall(text):
            slot = ord(run[0]) - _SLOT0
            if slot >= len(widths) or run != run[0] * widths[slot]:
                return None
            slots.append(slot)
        if len(slots) != refs.calls:
            return None
        # A %-template: one C call fills in the numbers.
        template = "%d".join(piece.replace("%", "%%") for piece in _SLOTS.split(text))
        return template, None if slots == list(range(len(block.urls))) else slots


class TextRenderer:
    def __init__(self, env: jinja2.Environment) -> None:
        self.env = env
        try:
            self.template = env.get_template(TEXT_TEMPLATE)
            self.blocks = PaperBlocks(env.get_template(PAPER_TEMPLATE))
        except jinja2.TemplateError as exc:
            raise template_error(getattr(exc, "name", None) or TEXT_TEMPLATE, exc) from exc

    def render(self, ctx: dict[str, Any]) -> str:
        refs = LinkRefs()
        blocks = self.blocks

        def paper_text(m: Any, n: int) -> str:
            return blocks(refs, m, n)

        def papers_text(matches: list[Any]) -> str:
            return "".join([blocks(refs, m, n) for n, m in enumerate(matches, start=1)])

        try:
            text = self.template.render(
                ctx, ref=refs, refs=refs, paper_text=paper_text, papers_text=papers_text
            )
        except jinja2.TemplateError as exc:
            raise template_error(TEXT_TEMPLATE, exc) from exc
        return tidy(text)


def tidy(text: str) -> str:
    """Trailing spaces dropped, runs of blank lines (the template's conditionals leave them
    behind) made one, no blank line first or last; one line break at the end.

    Lines end at "\n" (or "\r\n", "\r"); the values the template prints are one-line or
    wrapped, so they hold no other line separator."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    out: list[str] = []
    blank = True  # drops blank lines at the start
    for line in text.split("\n"):
        if line != "-- ":  # "-- " (with its space) is the signature delimiter
            line = line.rstrip()
        if line:
            out.append(line)
            blank = False
        elif not blank:
            out.append(line)
            blank = True
    if out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n"
