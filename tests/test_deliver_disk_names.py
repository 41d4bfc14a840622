"""Disk delivery file names: one per address, so no reader's .eml/.html/.txt overwrites
another's, and the same address always gets the same name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from digest.deliver import deliver_pending
from digest.deliver.disk import DiskOutbox, file_stem
from digest.store import deliveries
from digest.store.optouts import SCHEMA as OPTOUTS_SCHEMA
from tests.support.mailing import clock, plan_rows, state_db

LONG = "x" * 130
COLLIDING = {
    "apostrophe-vs-underscore": ("o'neil@x.org", "o_neil@x.org"),
    "long-addresses-sharing-120-chars": (f"{LONG}a@x.org", f"{LONG}b@x.org"),
    "unicode-vs-underscore": ("jos\u00e9@x.org", "jos_@x.org"),
}


@pytest.fixture
def conn(tmp_path):
    db = state_db(tmp_path / "state.sqlite")
    db.executescript(OPTOUTS_SCHEMA)
    yield db
    db.close()


@pytest.mark.parametrize("pair", COLLIDING.values(), ids=COLLIDING.keys())
def test_addresses_that_used_to_collide_get_their_own_files(conn, tmp_path, pair):
    plan_rows(conn, list(pair))
    stored = {a: deliveries.get(conn, a, "2026-12-01").message for a in pair}
    report = deliver_pending(conn, DiskOutbox(tmp_path / "out"), clock())
    assert report.ok and len(report) == 2
    files = {d.subscriber: d.files[0] for d in report}
    assert len(set(files.values())) == 2
    for address, path in files.items():
        # each file holds its own reader's message, not the other one's
        assert Path(path).read_bytes() == stored[address]


@pytest.mark.parametrize(
    "address", ["a@example.org", "first.last+tag@sub.example-mail.org", "A_b-c@x.org"]
)
def test_a_safe_short_address_is_its_own_stem(address):
    assert file_stem(address) == address


@pytest.mark.parametrize(
    "address",
    [
        "o'neil@x.org",
        "a/b@x.org",
        "..\\..\\evil@x.org",
        "jos\u00e9@x.org",
        f"{LONG}@x.org",
        ".hidden@x.org",
        "-rf@x.org",
        "",
    ],
)
def test_other_addresses_get_a_readable_safe_stem_with_a_stable_hash(address):
    stem = file_stem(address)
    assert re.fullmatch(r"[A-Za-z0-9@._+-]{0,100}~[0-9a-f]{8}", stem), stem
    assert stem[0] not in ".-"
    assert file_stem(address) == stem  # stable across calls (and runs: no salt)


def test_a_hashed_stem_can_never_be_another_address():
    hashed = file_stem("o'neil@x.org")
    # `~` is never in a plain stem, so even an address spelled like the hashed stem differs
    assert file_stem(hashed) != hashed
    assert file_stem("o'neil@x.org") == "o_neil@x.org~" + hashed.rsplit("~", 1)[1]
