"""/feeds/: the RSS and Atom files the last `digest run` wrote, with the media types feed
readers expect, and a small index page of them (a reader pasting /feeds/ finds them)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import Scope

from digest.web.app import OutputFiles, web
from digest.web.templating import feed_files

# application/xml makes browsers show a tree and some readers guess; say what the file is.
MEDIA_TYPES = {
    ".rss.xml": "application/rss+xml; charset=utf-8",
    ".atom.xml": "application/atom+xml; charset=utf-8",
}
FORMATS = {".rss.xml": "RSS", ".atom.xml": "Atom"}


def media_type(name: str) -> str | None:
    for suffix, value in MEDIA_TYPES.items():
        if name.endswith(suffix):
            return value
    return None


class FeedFiles(OutputFiles):
    """The feeds folder: StaticFiles (no escaping the folder, no symlinks out of it) with
    the feed media types."""

    def file_response(self, full_path, stat_result, scope: Scope, status_code: int = 200):
        response = super().file_response(full_path, stat_result, scope, status_code)
        kind = media_type(str(full_path))
        if kind is not None and response.status_code != 304:
            response.headers["content-type"] = kind
        return response


def routes() -> list[Route]:
    return [Route("/feeds/", index, methods=["GET", "HEAD"])]


def feed_list(config) -> list[tuple[str, str, str]]:
    """(label, format, url path) of every feed file present, the all-papers feeds first."""
    from digest.render.view import slugify

    labels = {"all": "All topics"}
    for topic in config.topics:
        labels.setdefault(slugify(topic.name), topic.name)
    out = []
    for name in feed_files(Path(config.output_dir) / "feeds"):
        suffix = next((s for s in FORMATS if name.endswith(s)), None)
        if suffix is None:
            continue
        key = name[: -len(suffix)]
        out.append((labels.get(key, key), FORMATS[suffix], f"/feeds/{quote(name)}"))
    return out


async def index(request: Request) -> Response:
    st = web(request)
    html = st.templates.page("feeds.html", feeds=feed_list(st.config))
    return HTMLResponse(html, headers={"Cache-Control": "no-cache"})
