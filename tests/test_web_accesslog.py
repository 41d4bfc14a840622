"""Bearer tokens (manage, unsubscribe, confirm) never reach the access log; the routes,
methods and statuses still do."""

from __future__ import annotations

import logging
import signal
import urllib.error
import urllib.request

import pytest
import yaml
from uvicorn.logging import AccessFormatter

from digest.logs import MASK
from digest.unsubscribe import make_token
from digest.web import accesslog
from tests.support.ops_env import Proc
from tests.support.smtp_server import free_port

SECRET = "a-long-enough-test-secret-for-logs"  # noqa: S105 (a test key)
CONFIRM_TOKEN = "CoNfIrM-tOkEn-ZZ9.abc_def"  # any string reaching /confirm/ is logged alike


@pytest.mark.parametrize(
    "path, expected",
    [
        ("/manage/abc-DEF_123", f"/manage/{MASK}"),
        ("/unsubscribe/abc", f"/unsubscribe/{MASK}"),
        ("/confirm/abc.def?x=1", f"/confirm/{MASK}?x=1"),
        ("/Manage/abc/extra", f"/Manage/{MASK}"),
        ("/unsubscribe?token=abc&x=1", f"/unsubscribe?token={MASK}&x=1"),
        ("/unsubscribe?x=1&%74oken=abc", f"/unsubscribe?x=1&%74oken={MASK}"),
        ("/unsubscribe?TOKEN=abc", f"/unsubscribe?TOKEN={MASK}"),
        ("/", "/"),
        ("/archive/2026-03-02.html?x=token", "/archive/2026-03-02.html?x=token"),
        ("/manage/", "/manage/"),
    ],
)
def test_mask_path(path, expected):
    assert accesslog.mask_path(path) == expected


def test_the_filter_masks_a_real_uvicorn_access_record():
    logger = logging.getLogger("test.accesslog")
    accesslog.install(logger)
    accesslog.install(logger)  # idempotent
    assert sum(isinstance(f, accesslog.MaskTokens) for f in logger.filters) == 1
    token = make_token("reader@example.org", SECRET)
    record = logger.makeRecord(
        logger.name,
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", f"/unsubscribe/{token}", "1.1", 200),
        None,
    )
    assert logger.filters[0].filter(record)
    line = AccessFormatter("%(client_addr)s - %(request_line)s %(status_code)s").format(record)
    assert token not in line
    assert f"POST /unsubscribe/{MASK} HTTP/1.1" in line and "200" in line


def test_digest_serve_logs_routes_but_never_tokens(tmp_path):
    (tmp_path / "config.yaml").write_text(
        yaml.safe_dump(
            {
                "title": "Test",
                "base_url": "https://digest.example.org",
                "topics": [{"name": "Everything"}],
                "subscribers": [{"email": "reader@example.org"}],
            }
        )
    )
    token = make_token("reader@example.org", SECRET)
    port = free_port()
    proc = Proc(
        "serve",
        "--config",
        "config.yaml",
        "--port",
        str(port),
        cwd=tmp_path,
        extra_env={"DIGEST_SECRET": SECRET},
    )
    paths = [
        f"/manage/{token}",
        f"/unsubscribe/{token}",
        f"/unsubscribe?token={token}",
        f"/confirm/{CONFIRM_TOKEN}",
        "/healthz",
    ]
    try:
        proc.wait_for("serving")
        for path in paths:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10):
                    pass
            except urllib.error.HTTPError:
                pass  # a 4xx page is logged too, which is the point
        proc.proc.send_signal(signal.SIGTERM)
        code, out, err = proc.finish()
    finally:
        proc.kill()
    assert code == 0, err
    log = out + err
    assert token not in log and CONFIRM_TOKEN not in log
    for route in (
        f"GET /manage/{MASK}",
        f"GET /unsubscribe/{MASK}",
        f"GET /unsubscribe?token={MASK}",
        f"GET /confirm/{MASK}",
        "GET /healthz",
    ):
        assert route in log, log
