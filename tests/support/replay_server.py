"""A real threaded HTTP server on 127.0.0.1 (port 0) that replays recorded responses by path
and can be scripted for hostile cases: any status, Retry-After, slow or stalled bodies,
huge bodies, gzip bombs, wrong charset headers, ETag/304. It counts every request.

    with ReplayServer() as server:
        server.route("/feed", body=b"...", headers={"Content-Type": "application/rss+xml"})
        server.route("/api", [Reply(status=429, headers={"Retry-After": "2"}), Reply(body=b"[]")])
        httpx.get(server.url("/feed"))
        assert server.count("/feed") == 1
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sources"


@dataclass
class Reply:
    status: int = 200
    body: bytes | Callable[[], Iterable[bytes]] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # before the status line
    chunk_delay: float = 0.0  # between body chunks (a server that drips)
    chunk_size: int = 64 * 1024
    etag: str | None = None  # answer 304 when If-None-Match matches


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    at: float


def fixture_bytes(name: str) -> bytes:
    """A recorded file from tests/fixtures/sources. The arxiv.py recordings are JSON wrappers
    whose body is the raw bytes decoded as Latin-1: this returns the original bytes."""
    data = (FIXTURES / name).read_bytes()
    if name.startswith("arxiv_api_recorded_"):
        return json.loads(data)["body"].encode("latin-1")
    return data


def recorded_status(name: str) -> int:
    if name.startswith("arxiv_api_recorded_"):
        return int(json.loads((FIXTURES / name).read_bytes())["status_code"])
    return 200


class ReplayServer:
    def __init__(self) -> None:
        self.routes: dict[str, list[Reply]] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                server._handle(self)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)

    # ------------------------------------------------------------------ control
    def __enter__(self) -> ReplayServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def base(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, replies: Reply | list[Reply] | None = None, **kwargs) -> str:
        """Serve `replies` in turn on `path` (the last one repeats); or one Reply(**kwargs)."""
        if replies is None:
            replies = Reply(**kwargs)
        self.routes[path] = list(replies) if isinstance(replies, list) else [replies]
        return self.url(path)

    def replay(self, path: str, fixture: str, content_type: str, **kwargs) -> str:
        """Serve a recorded fixture with its recorded status."""
        headers = {"Content-Type": content_type, **kwargs.pop("headers", {})}
        return self.route(
            path,
            body=fixture_bytes(fixture),
            status=recorded_status(fixture),
            headers=headers,
            **kwargs,
        )

    def count(self, path: str | None = None) -> int:
        return sum(1 for r in self.requests if path is None or r.path == path)

    # ------------------------------------------------------------------ serving
    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        with self._lock:
            self.requests.append(
                Request(
                    handler.command,
                    parts.path,
                    parse_qs(parts.query, keep_blank_values=True),
                    {k.lower(): v for k, v in handler.headers.items()},
                    time.monotonic(),
                )
            )
            queue = self.routes.get(parts.path)
            if queue is None:
                reply = Reply(status=404, body=b"not found", headers={"Content-Type": "text/plain"})
            else:
                reply = queue.pop(0) if len(queue) > 1 else queue[0]
        # the client may give up (a timeout or a size cap): that is the point
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._send(handler, reply)

    def _send(self, handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        if reply.delay:
            time.sleep(reply.delay)
        if reply.etag and handler.headers.get("If-None-Match") == reply.etag:
            handler.send_response(304)
            handler.send_header("ETag", reply.etag)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        body = reply.body
        handler.send_response(reply.status)
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        if reply.etag:
            handler.send_header("ETag", reply.etag)
        if callable(body) or reply.chunk_delay:
            chunks = body() if callable(body) else _split(body, reply.chunk_size)
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            for chunk in chunks:
                if reply.chunk_delay:
                    time.sleep(reply.chunk_delay)
                if chunk:
                    handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    handler.wfile.flush()
            handler.wfile.write(b"0\r\n\r\n")
            return
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)


def _split(body: bytes, size: int) -> Iterable[bytes]:
    for i in range(0, len(body), size):
        yield body[i : i + size]


class FakeTime:
    """Injectable sleep + monotonic: sleeping advances the clock instead of waiting, and
    real elapsed time still counts. `sleeps` records every requested wait."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()  # sources may sleep from several threads

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.offset += max(0.0, seconds)

    def monotonic(self) -> float:
        return time.monotonic() + self.offset
