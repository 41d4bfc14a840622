from __future__ import annotations

import re

from click.testing import CliRunner

from digest.cli_sources import sources
from tests.support.replay_server import ReplayServer


def write_config(tmp_path, sources_yaml: str):
    (tmp_path / "config.yaml").write_text(
        "title: T\nstate: state.sqlite\nsources:\n"
        + sources_yaml
        + "topics:\n  - name: All\nsubscribers:\n  - email: a@example.org\n",
        encoding="utf-8",
    )
    return str(tmp_path / "config.yaml")


def test_lists_sources_without_fetching(tmp_path):
    path = write_config(
        tmp_path,
        (
            "  - {name: sample, type: sample}\n"
            "  - {name: daily, type: arxiv-feed, categories: [cs.LG, cs.CL]}\n"
            "  - {name: mine, type: file, path: papers.json, enabled: false}\n"
        ),
    )
    result = CliRunner().invoke(sources, ["--config", path])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert re.match(r"sample\s+sample\s+bundled sample \(all\)", lines[0])
    assert re.match(r"daily\s+arxiv-feed\s+https://rss.arxiv.org/rss/cs.LG\+cs.CL", lines[1])
    assert lines[2].endswith("papers.json  (disabled)")
    assert not (tmp_path / "state.sqlite").exists()


def test_check_fetches_each_once_and_records_nothing(tmp_path):
    with ReplayServer() as server:
        ok = server.replay(
            "/rss",
            "arxiv_rss2_cs.LG_2026-04-27_trimmed_3items.xml",
            "application/rss+xml",
            etag='"e"',
        )
        bad = server.route("/html", body=b"<html>no</html>", headers={"Content-Type": "text/html"})
        (tmp_path / "papers.json").write_text('[{"title": "One"}, {"title": "Two"}]')
        path = write_config(
            tmp_path,
            (
                f"  - {{name: daily, type: arxiv-feed, categories: [cs.LG], url: '{ok}'}}\n"
                f"  - {{name: broken, type: feed, url: '{bad}'}}\n"
                "  - {name: mine, type: file, path: papers.json}\n"
            ),
        )
        result = CliRunner().invoke(sources, ["--config", path, "--check"])
        assert server.count("/rss") == 1 and server.count("/html") == 1
        assert "if-none-match" not in server.requests[0].headers
    assert result.exit_code == 1
    out = result.output
    assert re.search(r"^daily\s+ok\s+3 papers in \d+\.\d\d s$", out, re.M)
    assert re.search(r"^mine\s+ok\s+2 papers in \d+\.\d\d s$", out, re.M)
    assert re.search(
        r"^broken\s+FAILED\s+after \d+\.\d\d s: expected an RSS or Atom feed .* HTML page$",
        out,
        re.M,
    )
    assert not (tmp_path / "state.sqlite").exists()


def test_bad_config_is_a_message_not_a_traceback(tmp_path):
    path = write_config(tmp_path, "  - {name: x, type: nope}\n")
    result = CliRunner().invoke(sources, ["--config", path])
    assert result.exit_code == 2 and "unknown source type 'nope'" in result.output
    assert "Traceback" not in result.output
