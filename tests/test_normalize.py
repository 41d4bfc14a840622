from __future__ import annotations

from datetime import UTC, datetime

import pytest

from digest.models import Paper
from digest.normalize import (
    arxiv_id,
    canonical_id,
    clean_text,
    count,
    html_to_text,
    merge_papers,
    normalize_doi,
    parse_datetime,
    tidy_links,
    title_id,
    title_key,
)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2401.01234v2", "2401.01234"),
        ("2401.01234", "2401.01234"),
        ("0704.0001", "0704.0001"),
        ("arXiv:2401.01234v3", "2401.01234"),
        ("oai:arXiv.org:2604.21952v1", "2604.21952"),
        ("http://arxiv.org/abs/2606.13677v1", "2606.13677"),
        ("https://arxiv.org/abs/2604.21952", "2604.21952"),
        ("https://arxiv.org/pdf/2401.01234v2", "2401.01234"),
        ("https://arxiv.org/pdf/2401.01234v2.pdf", "2401.01234"),
        ("https://export.arxiv.org/abs/2401.01234", "2401.01234"),
        ("astro-ph/0601001v1", "astro-ph/0601001"),
        ("http://arxiv.org/abs/astro-ph/0601001v1", "astro-ph/0601001"),
        ("math.GT/0309136", "math/0309136"),
        ("10.48550/arXiv.2401.01234", "2401.01234"),
        ("https://example.org/abs/2401.01234", None),
        ("10.1145/12345", None),
        ("not an id", None),
        ("", None),
        (None, None),
    ],
)
def test_arxiv_id(value, expected):
    assert arxiv_id(value) == expected


def test_doi_is_lower_cased_and_unprefixed():
    assert normalize_doi("https://doi.org/10.1142/S021797921244002X") == "10.1142/s021797921244002x"
    assert normalize_doi("http://dx.doi.org/10.1000/ABC") == "10.1000/abc"
    assert normalize_doi("doi:10.1000/XyZ") == "10.1000/xyz"
    assert normalize_doi("nonsense") is None


def test_canonical_id_precedence():
    assert (
        canonical_id(arxiv="2401.01234v2", doi="10.1000/x", url="https://x") == "arxiv:2401.01234"
    )
    # an arXiv id found in the link wins over a DOI
    assert (
        canonical_id(doi="10.1000/X", url="https://arxiv.org/abs/2401.01234") == "arxiv:2401.01234"
    )
    assert canonical_id(doi="10.1000/X", url="https://journal.org/a") == "doi:10.1000/x"
    assert canonical_id(guid="tag:blog,1", url="https://b/1") == "url:tag:blog,1"
    assert canonical_id(url="https://b/1") == "url:https://b/1"
    assert canonical_id(title="A Title") == title_id("A Title")
    assert title_id("A  title!") == title_id("a title")


def test_clean_text_entities_controls_whitespace_and_tex_kept():
    raw = "  Schr\\\"odinger &amp; $\\ln\\ln T$\x00\x0b bounds\n  for\tR\\'emy &#233; "
    assert clean_text(raw) == "Schr\\\"odinger & $\\ln\\ln T$ bounds for R\\'emy é"
    assert clean_text("0") == "0"  # a literal "0" survives
    assert clean_text(None) == ""
    assert title_key("Attention Is All You Need!") == "attention is all you need"


def test_html_to_text_drops_markup_and_scripts():
    html = "<p>First&nbsp;para</p><p>Second <b>bold</b><script>alert(1)</script></p><!-- c -->"
    assert html_to_text(html) == "First para Second bold"
    assert "alert" not in html_to_text(html)
    assert html_to_text("plain &amp; simple") == "plain & simple"


def test_parse_datetime_is_always_aware():
    assert parse_datetime("2026-06-12T00:00:00.000Z") == datetime(2026, 6, 12, tzinfo=UTC)
    assert (
        parse_datetime("Mon, 27 Apr 2026 00:00:00 -0400").utcoffset().total_seconds() == -4 * 3600
    )
    assert parse_datetime("2024-01-05").tzinfo is UTC
    assert parse_datetime("garbage") is None


def _p(pid, **kw):
    return Paper(id=pid, title=kw.pop("title", "Same Title"), **kw)


def test_merge_same_id_unions_fields():
    early = datetime(2026, 6, 10, tzinfo=UTC)
    late = datetime(2026, 6, 12, tzinfo=UTC)
    a = _p(
        "arxiv:2401.00001",
        abstract="short",
        categories=("cs.LG",),
        sources=("ax",),
        source_types=("arxiv",),
        published=late,
        pdf_url="https://arxiv.org/pdf/2401.00001",
    )
    b = _p(
        "arxiv:2401.00001",
        abstract="a much longer abstract",
        upvotes=12,
        comments=3,
        keywords=("LLM",),
        code_url="https://github.com/x/y",
        sources=("hf",),
        source_types=("huggingface",),
        published=early,
        categories=("cs.LG", "cs.CL"),
    )
    [m] = merge_papers([a, b])
    assert m.id == "arxiv:2401.00001"
    assert m.abstract == "a much longer abstract"
    assert m.upvotes == 12 and m.comments == 3
    assert m.categories == ("cs.LG", "cs.CL")
    assert m.keywords == ("LLM",)
    assert m.sources == ("ax", "hf") and m.source_types == ("arxiv", "huggingface")
    assert m.published == early
    assert (
        m.pdf_url == "https://arxiv.org/pdf/2401.00001" and m.code_url == "https://github.com/x/y"
    )


def test_merge_title_id_into_arxiv_id_keeps_the_arxiv_id_and_order():
    other = _p("arxiv:2401.00009", title="Another paper")
    sample = _p(
        title_id("PowerInfer-2: Fast LLM Inference"),
        title="PowerInfer-2: Fast LLM Inference",
        sources=("sample",),
    )
    hf = _p(
        "arxiv:2406.06282", title="PowerInfer-2:  fast LLM inference", upvotes=40, sources=("hf",)
    )
    merged = merge_papers([other, sample, hf])
    assert [p.id for p in merged] == ["arxiv:2401.00009", "arxiv:2406.06282"]
    assert merged[1].upvotes == 40 and merged[1].sources == ("sample", "hf")
    assert merged[1].title == "PowerInfer-2: Fast LLM Inference"


def test_merge_does_not_join_two_real_ids_with_equal_titles():
    merged = merge_papers(
        [_p("arxiv:2401.00001", title="Intro"), _p("doi:10.1000/x", title="Intro")]
    )
    assert len(merged) == 2


def test_merge_by_doi_and_title_zero():
    a = _p("arxiv:1201.4869", doi="10.1142/s021797921244002x", title="0")
    b = _p("doi:10.1142/s021797921244002x", title="0", sources=("journal",))
    [m] = merge_papers([a, b])
    assert m.id == "arxiv:1201.4869" and m.title == "0" and m.sources == ("journal",)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Control\x00chars", "Control chars"),
        ("vertical\x0btab", "vertical tab"),
        ("form\x0cfeed", "form feed"),
        ("next\x85line", "next line"),
        ("line\u2028separator", "line separator"),
        ("para\u2029separator", "para separator"),
        ("c1\x9bcontrol", "c1 control"),
        ("del\x7fchar", "del char"),
        ("a\x00\x01\x02b", "a b"),  # a run of controls is one space
    ],
)
def test_control_characters_separate_words(raw, expected):
    assert clean_text(raw) == expected


def test_bidi_overrides_embeddings_and_isolates_are_dropped():
    evil = "Safe title \u202egnp.exe\u202c end"
    assert clean_text(evil) == "Safe title gnp.exe end"
    for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069":
        assert clean_text(f"ab{ch}cd") == "abcd"
    # the plain direction marks stay: right-to-left names need them
    assert (
        clean_text("\u05e9\u05dc\u05d5\u05dd\u200f (2024)")
        == "\u05e9\u05dc\u05d5\u05dd\u200f (2024)"
    )
    assert clean_text("x\u200ey") == "x\u200ey"


@pytest.mark.parametrize(
    "value, expected",
    [
        (0, 0),
        (42, 42),
        (10**9, 10**9),
        (10**9 + 1, 10**9),
        (1e30, 10**9),
        ("1000000000000000019884624838656", 10**9),
        ("9" * 5000, 10**9),
        (" 12 ", 12),
        ("3.0", 3),
        (-1, None),
        ("-7", None),
        (2.5, None),
        (float("nan"), None),
        (float("inf"), None),
        ("1e400", None),
        ("1_000", None),
        ("", None),
        ("many", None),
        (True, None),
        (None, None),
        ({"n": 1}, None),
    ],
)
def test_count_is_a_bounded_non_negative_integer(value, expected):
    assert count(value) == expected


def test_tidy_links_drops_unsafe_links_and_derives_arxiv_ones():
    bad = Paper(
        id="arxiv:2401.01234",
        title="t",
        url="javascript:alert(1)",
        code_url="https://github.com/a/b\u202e",
        project_url=" https://p.org/x ",
    )
    tidy = tidy_links(bad)
    assert tidy.url == "https://arxiv.org/abs/2401.01234"
    assert tidy.pdf_url == "https://arxiv.org/pdf/2401.01234"
    assert tidy.code_url is None and tidy.project_url == "https://p.org/x"
    old = tidy_links(Paper(id="arxiv:astro-ph/0601001", title="t"))
    assert old.url == "https://arxiv.org/abs/astro-ph/0601001"
    kept = Paper(id="arxiv:2401.01234", title="t", url="https://hf.co/papers/2401.01234")
    assert tidy_links(kept).url == "https://hf.co/papers/2401.01234"
    plain = Paper(id="doi:10.1/x", title="t", url="data:text/html,x")
    assert tidy_links(plain).url is None and tidy_links(plain).pdf_url is None
    fine = Paper(id="url:https://b/1", title="t", url="https://b/1")
    assert tidy_links(fine) is fine
