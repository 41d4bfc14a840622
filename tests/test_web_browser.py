"""End to end in a real browser: Debian's chromium driven by Playwright against the app on
a real uvicorn. Subscribe, confirm from the emailed link, change topics, unsubscribe in one
click; `digest run` sends to the reader exactly while confirmed and subscribed."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import timedelta
from pathlib import Path

import pytest

from digest import pipeline
from digest.clock import FixedClock
from digest.web import create_app
from tests.support.render_browser import ARGS, chromium_path
from tests.support.web_app import SECRET, START, link_in, make_config, outbox_messages
from tests.support.web_server import bound_socket, serving

READER = "reader.web@example.org"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        chromium_path() is None, reason="needs Chromium (apt-get install -y chromium)"
    ),
]


def run_digest(config, at):
    report = pipeline.run(config, FixedClock(at))
    considered = set(report.selected) | set(report.skipped)
    sent = {d.subscriber for d in report.sent}
    return considered, sent, report


def test_subscribe_confirm_manage_unsubscribe_in_a_browser(tmp_path, monkeypatch):
    sync_api = pytest.importorskip("playwright.sync_api")
    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    sock = bound_socket()
    port = sock.getsockname()[1]
    config = make_config(tmp_path, base_url=f"http://127.0.0.1:{port}", subscribers=[])
    clock = FixedClock(START)
    app = create_app(config, secret=SECRET, clock=clock)

    with serving(app, sock) as base, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
            page.goto(base + "/")
            assert page.locator("h1").inner_text() == "Test Digest"
            page.fill("#email", READER)
            page.check("input[name=topics][value='Vision']")
            page.click("button[type=submit]")
            assert page.locator("h1").inner_text() == "Check your inbox"

            # Not confirmed yet: the run does not even consider the address.
            considered, sent, report = run_digest(config, START + timedelta(hours=1))
            assert READER not in considered | sent, report.to_dict()

            [confirmation] = outbox_messages(config)
            link = link_in(confirmation, "confirm")
            assert link.startswith(base + "/confirm/")
            page.goto(link)
            page.click("text=Confirm my subscription")
            assert page.locator("h1").inner_text() == "You are subscribed"

            page.click("text=Change your topics")
            assert page.is_checked("input[name=topics][value='Vision']")
            page.uncheck("input[name=topics][value='Vision']")
            page.check("input[name=topics][value='Efficient LLMs']")
            page.check("input[name=cadence][value='daily']")
            page.click("text=Save")
            assert "Your settings are saved." in page.inner_text("body")
            assert page.is_checked("input[name=topics][value='Efficient LLMs']")
            assert not page.is_checked("input[name=topics][value='Vision']")

            # Confirmed and subscribed: the next run sends to the reader, with the links.
            considered, sent, report = run_digest(config, START + timedelta(days=1))
            assert READER in sent, report.to_dict()
            eml = next(
                Path(f)
                for d in report.sent
                if d.subscriber == READER
                for f in d.files
                if f.endswith(".eml")
            )
            digest_mail = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
            unsubscribe = re.search(
                r"<(http[^>]+/unsubscribe/[^>]+)>", digest_mail["List-Unsubscribe"]
            ).group(1)
            assert digest_mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            assert "Efficient LLMs" in digest_mail.get_body(("plain",)).get_content()

            # One click: the page of the List-Unsubscribe URL, then its button.
            page.goto(unsubscribe)
            page.click("button:has-text('Unsubscribe')")
            assert page.locator("h1").inner_text() == "You are unsubscribed"

            considered, sent, report = run_digest(config, START + timedelta(days=2))
            assert READER not in considered | sent, report.to_dict()
        finally:
            browser.close()
