"""End to end through the CLI: `digest run` on the bundled sample, as a new user runs it."""

from __future__ import annotations

import email
import json
import sqlite3
from email import policy

import feedparser
import pytest
import yaml

from tests.support.cli import digest, report


def test_run_on_a_fresh_folder_writes_a_real_digest(tmp_path):
    result = digest("run", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = report(result)
    assert data["status"] == "ok" and data["exit_code"] == 0
    assert data["sources"][0]["name"] == "sample" and data["sources"][0]["papers"] >= 62
    assert data["selected"]["reader@example.org"] == 15
    [delivery] = data["deliveries"]
    assert delivery["state"] == "sent" and delivery["issue"] == "2026-12-01"

    mail = tmp_path / "out" / "mail" / "2026-12-01"
    html = (mail / "reader@example.org.html").read_text()
    text = (mail / "reader@example.org.txt").read_text()
    assert "<html" in html.lower() and "Trending Papers" in html
    assert "Trending Papers" in text

    message = email.message_from_bytes(
        (mail / "reader@example.org.eml").read_bytes(), policy=policy.default
    )
    for header in ("Subject", "From", "To", "Date", "Message-ID"):
        assert message[header], header
    assert message["To"] == "Example Reader <reader@example.org>"
    assert message.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in message.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    body = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert body.strip() == text.strip()

    feeds = tmp_path / "out" / "feeds"
    for name in ("all.rss.xml", "all.atom.xml"):
        parsed = feedparser.parse((feeds / name).read_bytes())
        assert parsed.bozo == 0, parsed.get("bozo_exception")
        assert parsed.entries
    assert (tmp_path / "out" / "archive" / "index.html").exists()
    assert (tmp_path / "state.sqlite").exists()


def test_second_run_delivers_nothing_new_and_says_so(tmp_path):
    first = digest("run", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "delivered 1 digest" in first.stdout
    feed = (tmp_path / "out" / "feeds" / "all.atom.xml").read_bytes()

    second = digest("run", cwd=tmp_path, now="2026-12-01T09:00:00+00:00")
    assert second.returncode == 0, second.stderr
    assert "nothing new to deliver" in second.stdout
    assert (tmp_path / "out" / "feeds" / "all.atom.xml").read_bytes() == feed

    # The next day brings the papers that did not fit yesterday, never one sent before.
    third = digest("run", "--json", cwd=tmp_path, now="2026-12-02T07:00:00+00:00")
    assert report(third)["deliveries"][0]["state"] == "sent"
    db = sqlite3.connect(tmp_path / "state.sqlite")
    by_issue: dict[str, set[str]] = {}
    for paper_id, issue_id in db.execute("SELECT paper_id, issue_id FROM sent_papers"):
        by_issue.setdefault(issue_id, set()).add(paper_id)
    assert len(by_issue["2026-12-01"]) == 15 and len(by_issue["2026-12-02"]) == 15
    assert not by_issue["2026-12-01"] & by_issue["2026-12-02"]


def test_dry_run_renders_into_preview_and_records_nothing(tmp_path):
    result = digest("run", "--dry-run", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = report(result)
    preview = tmp_path / "out" / "preview"
    assert data["dry_run"] is True and data["preview_dir"].endswith("preview")
    assert (preview / "mail" / "2026-12-01" / "reader@example.org.eml").exists()
    assert (preview / "feeds" / "all.rss.xml").exists()
    assert not (tmp_path / "state.sqlite").exists()
    assert not (tmp_path / "out" / "mail").exists()

    # After a real run, a dry run leaves the state byte for byte as it was.
    assert digest("run", cwd=tmp_path).returncode == 0
    before = (tmp_path / "state.sqlite").read_bytes()
    again = digest("run", "--dry-run", cwd=tmp_path, now="2026-12-02T07:00:00+00:00")
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "state.sqlite").read_bytes() == before


def test_bad_config_names_every_problem_and_exits_2(tmp_path):
    (tmp_path / "config.yaml").write_text(
        yaml.safe_dump(
            {
                "subscibers": [],
                "timezone": "Nowhere/City",
                "topics": [{"name": "A", "query": "x"}],
                "subscribers": [{"email": "a@", "topics": ["A", "Z"]}],
            }
        )
    )
    result = digest("run", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "did you mean 'subscribers'?" in result.stderr
    assert "unknown timezone 'Nowhere/City'" in result.stderr
    assert "subscribers[0].email" in result.stderr
    assert "unknown topic 'Z'" in result.stderr
    assert len(result.stderr.splitlines()) < 25  # one screen


def test_bad_yaml_and_missing_config_exit_2(tmp_path):
    (tmp_path / "config.yaml").write_text("topics: [\n")
    result = digest("run", cwd=tmp_path)
    assert result.returncode == 2 and "not valid YAML" in result.stderr
    missing = digest("run", "--config", str(tmp_path / "none.yaml"), cwd=tmp_path)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    usage = digest("run", "--no-such-flag", cwd=tmp_path)
    assert usage.returncode == 2


def test_a_failing_source_is_partial_and_reported(tmp_path):
    (tmp_path / "config.yaml").write_text(
        yaml.safe_dump(
            {
                "sources": [
                    {"name": "sample", "type": "sample"},
                    {"name": "broken", "type": "file", "path": "does-not-exist.jsonl"},
                ],
                "topics": [{"name": "LLM", "query": "LLM"}],
                "subscribers": [{"email": "a@example.org"}],
            }
        )
    )
    result = digest("run", "--json", cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    data = report(result)
    failed = [s for s in data["sources"] if s["error"]]
    assert [s["name"] for s in failed] == ["broken"]
    assert any("broken" in e for e in data["errors"])
    assert data["deliveries"][0]["state"] == "sent"


def test_hostile_titles_are_escaped_in_html_and_feeds(tmp_path):
    hostile = '<script>alert(1)</script> & "quotes"'
    (tmp_path / "papers.jsonl").write_text(
        json.dumps({"title": hostile, "abstract": "An LLM paper <img src=x onerror=alert(2)>."})
        + "\n"
    )
    (tmp_path / "config.yaml").write_text(
        yaml.safe_dump(
            {
                "sources": [{"name": "local", "type": "file", "path": "papers.jsonl"}],
                "topics": [{"name": "LLM", "query": "LLM"}],
                "subscribers": [{"email": "a@example.org"}],
            }
        )
    )
    result = digest("run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    html = next((tmp_path / "out" / "mail").rglob("*.html")).read_text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html
    for feed in (tmp_path / "out" / "feeds").glob("*.xml"):
        raw = feed.read_text()
        assert "<script>" not in raw, feed.name
        parsed = feedparser.parse(raw)
        assert parsed.bozo == 0
        assert parsed.entries[0].title == hostile
    archive = next((tmp_path / "out" / "archive").glob("2*.html")).read_text()
    assert "<script>alert(1)</script>" not in archive


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"]])
def test_help_works_as_module(tmp_path, args):
    result = digest(*args, cwd=tmp_path)
    assert result.returncode == 0 and "Usage:" in result.stdout


def test_similar_to_finds_examples_from_earlier_runs(tmp_path):
    """A `similar_to` example seen in an earlier run (not in today's batch) still works."""
    first = {
        "title": "Quantized attention kernels for fast LLM inference",
        "id": "2401.00001",
        "abstract": "We quantize attention kernels to speed up LLM inference on GPUs.",
    }
    later = {
        "title": "Faster quantized attention for LLM inference",
        "id": "2402.00002",
        "abstract": "Quantized attention kernels make LLM inference faster on GPUs.",
    }
    other = {
        "title": "Protein folding with diffusion",
        "id": "2402.00003",
        "abstract": "A diffusion model predicts protein structures.",
    }
    config = {
        "sources": [{"name": "local", "type": "file", "path": "papers.jsonl"}],
        "topics": [{"name": "Like it", "similar_to": ["arxiv:2401.00001"], "min_similarity": 0.2}],
        "subscribers": [{"email": "a@example.org"}],
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "papers.jsonl").write_text(json.dumps(first) + "\n")
    assert digest("run", cwd=tmp_path).returncode == 0
    (tmp_path / "papers.jsonl").write_text(json.dumps(later) + "\n" + json.dumps(other) + "\n")
    data = report(digest("run", "--json", cwd=tmp_path, now="2026-12-02T07:00:00+00:00"))
    assert data["selected"]["a@example.org"] == 1
    eml = (tmp_path / "out" / "mail" / "2026-12-02" / "a@example.org.eml").read_bytes()
    message = email.message_from_bytes(eml, policy=policy.default)
    text = message.get_body(("plain",)).get_content()
    assert "Faster quantized attention" in text and "Protein folding" not in text


def test_golden_eml_of_the_sample_run(tmp_path, golden):
    """The complete message a subscriber receives, kept readable for review: the raw
    headers (the random MIME boundary and the temporary folder masked; Date and Message-ID
    are fixed by the clock and the ledger key), then each part's decoded body."""
    import re

    assert digest("run", cwd=tmp_path).returncode == 0
    raw = (tmp_path / "out" / "mail" / "2026-12-01" / "reader@example.org.eml").read_bytes()
    text = raw.decode("ascii")  # every part is 7bit or base64: the message is pure ASCII
    boundary = re.search(r'boundary="([^"]+)"', text).group(1)
    head = text.split("\r\n\r\n", 1)[0].replace(boundary, "BOUNDARY").replace("\r\n", "\n")
    message = email.message_from_bytes(raw, policy=policy.default)
    out = [head, ""]
    for part in message.iter_parts():
        out.append(f"--- part {part.get_content_type()} ({part['Content-Transfer-Encoding']})")
        out.append(part.get_content().replace("\r\n", "\n"))
    # Without base_url the web version is the archive page on disk: mask the folder.
    result = "\n".join(out).replace(tmp_path.resolve().as_uri(), "file:///TMP")
    golden("run/reader@example.org.eml.txt", result)


def test_the_web_version_lists_every_paper_of_the_digests_that_link_to_it(tmp_path):
    """A reader added on day 2 gets papers first seen on day 1; the archive page their
    email links to must list them (and the ones cut with "and N more")."""
    base = {
        "sources": [{"name": "sample", "type": "sample"}],
        "topics": [{"name": "LLM", "query": "LLM"}],
        "subscribers": [{"email": "a@example.org", "max_papers": 5}],
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(base))
    assert digest("run", cwd=tmp_path).returncode == 0
    base["subscribers"].append({"email": "b@example.org", "max_papers": 5})
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(base))
    data = report(digest("run", "--json", cwd=tmp_path, now="2026-12-02T07:00:00+00:00"))
    assert data["selected"]["b@example.org"] == 5
    page = (tmp_path / "out" / "archive" / "2026-12-02.html").read_text()
    text = (tmp_path / "out" / "mail" / "2026-12-02" / "b@example.org.txt").read_text()
    assert "and " in text and "more papers" in text
    titles = [line.split(". ", 1)[1] for line in text.splitlines() if line[:3] in {"1. ", "2. "}]
    assert titles and all(t.split(":")[0].strip()[:25] in page for t in titles)
    assert "No new papers" not in page


def test_a_second_run_the_same_day_keeps_the_archive_page_whole(tmp_path):
    first = [{"title": f"LLM paper number {i}", "id": f"2401.0000{i}"} for i in range(3)]
    (tmp_path / "papers.jsonl").write_text("".join(json.dumps(p) + "\n" for p in first))
    (tmp_path / "more.jsonl").write_text(
        json.dumps({"title": "LLM paper late", "id": "2401.00009"})
    )
    config = {
        "sources": [
            {"name": "a", "type": "file", "path": "papers.jsonl"},
            {"name": "b", "type": "file", "path": "more.jsonl"},
        ],
        "topics": [{"name": "LLM", "query": "LLM"}],
        "subscribers": [{"email": "a@example.org"}],
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    assert digest("run", cwd=tmp_path).returncode == 0
    (tmp_path / "papers.jsonl").unlink()  # source a fails at noon; b brings one more paper
    (tmp_path / "more.jsonl").write_text(
        json.dumps({"title": "LLM paper noon", "id": "2401.00010"})
    )
    assert digest("run", cwd=tmp_path, now="2026-12-01T12:00:00+00:00").returncode == 3
    page = (tmp_path / "out" / "archive" / "2026-12-01.html").read_text()
    for title in ("LLM paper number 0", "LLM paper number 2", "LLM paper late", "LLM paper noon"):
        assert title in page, title


def test_a_paper_known_under_another_id_is_never_sent_twice(tmp_path):
    """Day 1: a journal's record (a DOI). Day 2: arXiv's record of the same paper, carrying
    that DOI; and a title-only record of a paper arXiv brings later."""
    day1 = [
        {"title": "LLM routing with budgets", "doi": "10.1234/abc.5", "abstract": "LLM."},
        {"title": "Sparse LLM kernels revisited", "abstract": "About LLM kernels."},
    ]
    day2 = [
        {"title": "LLM Routing with Budgets", "id": "2603.01234", "doi": "10.1234/ABC.5"},
        {"title": "Sparse LLM Kernels Revisited", "id": "2603.04321"},
        {"title": "A genuinely new LLM paper", "id": "2603.09999"},
    ]
    config = {
        "sources": [{"name": "f", "type": "file", "path": "papers.jsonl"}],
        "topics": [{"name": "LLM", "query": "LLM"}],
        "subscribers": [{"email": "a@example.org"}],
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "papers.jsonl").write_text("".join(json.dumps(p) + "\n" for p in day1))
    assert report(digest("run", "--json", cwd=tmp_path))["selected"]["a@example.org"] == 2
    (tmp_path / "papers.jsonl").write_text("".join(json.dumps(p) + "\n" for p in day2))
    data = report(digest("run", "--json", cwd=tmp_path, now="2026-12-02T07:00:00+00:00"))
    assert data["selected"]["a@example.org"] == 1
    text = (tmp_path / "out" / "mail" / "2026-12-02" / "a@example.org.txt").read_text()
    assert "genuinely new" in text and "Routing" not in text and "Kernels" not in text


def test_json_logs_carry_fatal_errors_too(tmp_path):
    (tmp_path / "config.yaml").write_text("subscibers: []\n")
    result = digest("--log-format", "json", "run", cwd=tmp_path)
    assert result.returncode == 2
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert line["level"] == "error" and "did you mean 'subscribers'?" in line["message"]
    (tmp_path / "config.yaml").unlink()
    (tmp_path / "state.sqlite").write_text("not a database")
    result = digest("--log-format", "json", "run", cwd=tmp_path)
    assert result.returncode == 1
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert "cannot be used" in line["message"] and line["hint"]


def test_a_later_run_never_drops_what_an_earlier_email_of_the_issue_listed(tmp_path):
    """u's email links to today's page; a later run today (with a different pool) must not
    drop u's paper from it."""
    papers = [
        {"id": f"2411.0000{i}", "title": f"{c} diffusion", "abstract": "diffusion"}
        for i, c in ((1, "A"), (2, "B"))
    ]
    config = {
        "sources": [{"name": "mine", "type": "file", "path": "papers.jsonl"}],
        "topics": [{"name": "T", "query": "diffusion"}],
        "selection": {"lookback_days": 1},
        "subscribers": [{"email": "u@example.org", "max_papers": 1}],
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "papers.jsonl").write_text("".join(json.dumps(p) + "\n" for p in papers))
    assert digest("run", cwd=tmp_path, now="2024-11-03T02:00:00+00:00").returncode == 0
    assert digest("run", cwd=tmp_path, now="2024-11-04T01:00:00+00:00").returncode == 0
    (tmp_path / "papers.jsonl").write_text(
        json.dumps({"id": "2411.00003", "title": "C diffusion", "abstract": "diffusion"}) + "\n"
    )
    config["subscribers"].append({"email": "v@example.org"})
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    assert digest("run", cwd=tmp_path, now="2024-11-04T03:00:00+00:00").returncode == 0
    page = (tmp_path / "out" / "archive" / "2024-11-04.html").read_text()
    assert "B diffusion" in page and "C diffusion" in page


def test_a_paper_first_known_by_its_link_is_not_sent_again_under_its_arxiv_id(tmp_path):
    config = {
        "sources": [{"name": "f", "type": "file", "path": "papers.jsonl"}],
        "topics": [{"name": "T", "query": "diffusion"}],
        "subscribers": [{"email": "a@example.org"}],
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    post = {"id": "https://example.org/post/3", "title": "Three diffusion", "abstract": "diffusion"}
    (tmp_path / "papers.jsonl").write_text(json.dumps(post) + "\n")
    assert report(digest("run", "--json", cwd=tmp_path))["selected"]["a@example.org"] == 1
    later = {**post, "id": "arxiv:2411.03333", "url": "https://example.org/post/3"}
    (tmp_path / "papers.jsonl").write_text(json.dumps(later) + "\n")
    data = report(digest("run", "--json", cwd=tmp_path, now="2026-12-02T07:00:00+00:00"))
    assert data["deliveries"] == [] and data["selected"]["a@example.org"] == 0
