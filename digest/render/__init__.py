"""Rendering: the email (MJML compiled once, Jinja per subscriber), its plain-text twin, the
RSS/Atom feeds and the static web archive.

    from digest.render import Renderer
    r = Renderer(config)
    subject, html, text = r.render_digest(digest, links)
    r.write_feeds(conn, topic_matches, issue, out_dir)
    r.write_archive(conn, issue, topic_matches, out_dir)

The heavy parts (Jinja, mjml, feedgen, pylatexenc) load on first use, so importing this
package stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from digest.render.core import Renderer

__all__ = ["Renderer", "render_digest_naive"]


def render_digest_naive(renderer: Renderer, digest: Any, links: Any) -> tuple[str, str, str]:
    """The per-subscriber Jinja -> MJML -> mjml2html path (the benchmark's baseline)."""
    return renderer.render_digest_naive(digest, links)


def __getattr__(name: str) -> Any:
    if name == "Renderer":
        from digest.render.core import Renderer

        return Renderer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
