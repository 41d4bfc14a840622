"""The fast fan-out path and the naive one give a subscriber the same thing: the same HTML and
text, and messages that parse back with the same headers and decoded parts. Checked on a
sample of the benchmark's personalised digests (accented and hostile names included)."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default

import pytest

from benchmarks.fanout import FanOut, Job, jobs
from digest.models import Subscriber

HEADERS = (
    "Subject",
    "From",
    "To",
    "Date",
    "Message-ID",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "MIME-Version",
)


@pytest.fixture(scope="module")
def fan(tmp_path_factory):
    return FanOut(tmp_path_factory.mktemp("fanout"))


HOSTILE = ('Zoë "Q" O\'Brien, Jr.', "=?utf-8?q?evil?= Ødegård", "Ann\r\nBcc: x@evil.org")


def renamed(job: Job, name: str) -> Job:
    d = job.digest
    sub = Subscriber(email="odd@example.org", name=name, topics=d.subscriber.topics, max_papers=15)
    return Job(type(d)(d.issue, sub, d.sections, d.omitted), job.secret)


def sample() -> list[Job]:
    return [*jobs(4, seed=11), renamed(next(jobs(1, seed=12)), "Ann\r\nBcc: x@evil.org")]


def parsed(data: bytes):
    msg = message_from_bytes(data, policy=default)
    # Folding whitespace is not content (RFC 5322 3.2.2): the stdlib folds long values
    # where the fast builder does not, and unfolding keeps the folding space.
    headers = {h: " ".join(str(msg[h]).split()) if msg[h] is not None else None for h in HEADERS}
    parts = [
        (p.get_content_type(), p.get_content_charset(), p.get_content()) for p in msg.iter_parts()
    ]
    return msg.get_content_type(), headers, parts


@pytest.mark.parametrize("job", sample(), ids=lambda j: j.digest.subscriber.name[:12])
def test_fast_and_naive_paths_give_the_same_digest(fan, job):
    subject, html, text, fast = fan.fast_parts(job)
    n_subject, n_html, n_text, naive = fan.naive_parts(job)

    assert (subject, html, text) == (n_subject, n_html, n_text)
    kind, headers, parts = parsed(fast)
    assert (kind, headers, parts) == parsed(naive)
    assert kind == "multipart/alternative"
    assert [p[:2] for p in parts] == [("text/plain", "utf-8"), ("text/html", "utf-8")]
    # what the subscriber reads is what was rendered (a body always ends with a line end)
    assert parts[0][2].replace("\r\n", "\n").rstrip("\n") == text.rstrip("\n")
    assert parts[1][2].replace("\r\n", "\n").rstrip("\n") == html.rstrip("\n")
    assert job.digest.subscriber.email in headers["To"]
    assert "Bcc" not in message_from_bytes(fast, policy=default)


def test_subscribers_really_differ(fan):
    a, b = list(jobs(2, seed=3))
    fa, fb = fan.fast_parts(a), fan.fast_parts(b)
    assert a.digest.paper_ids != b.digest.paper_ids
    assert fa[1] != fb[1] and fa[3] != fb[3]
    assert len(a.digest.matches) == 15


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_render_the_same_and_address_exactly_one_reader(fan, name):
    """Quotes, commas and encoded-word look-alikes in a name: the stdlib baseline splits
    such a name into two addresses or decodes the look-alike (CVE-2024-6923); the fast
    builder keeps it as the literal display name of the one recipient."""
    job = renamed(next(jobs(1, seed=13)), name)
    subject, html, text, fast = fan.fast_parts(job)
    assert (subject, html, text) == fan.naive_parts(job)[:3]
    msg = message_from_bytes(fast, policy=default)
    (addr,) = msg["To"].addresses
    assert addr.addr_spec == "odd@example.org"
    assert addr.display_name == " ".join(name.split())
    assert "Bcc" not in msg
