from __future__ import annotations

import json
import logging

import pytest

from digest.config import FileSource
from digest.errors import SourceError
from digest.normalize import title_id
from digest.sources import fetch_one, file
from tests.support.sources_ctx import make_ctx


def run(tmp_path, name, content, **kw):
    path = tmp_path / "data" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(content, encoding="utf-8")
    ctx, _ = make_ctx(root=tmp_path)
    return file.fetch(FileSource(name="mine", type="file", path=f"data/{name}", **kw), ctx)


def test_documented_json_record(tmp_path):
    records = {
        "papers": [
            {
                "id": "arXiv:2401.01234v2",
                "title": "Fast  Things",
                "abstract": "About &amp; more",
                "authors": ["Ada Lovelace", "Alan Turing"],
                "code_url": "https://github.com/a/b",
                "categories": ["cs.LG"],
                "published": "2024-01-05",
                "upvotes": 7,
            },
            {"title": "0", "doi": "https://doi.org/10.1000/ABC", "url": "https://j.org/1"},
        ]
    }
    first, zero = run(tmp_path, "p.json", json.dumps(records))
    assert first.id == "arxiv:2401.01234" and first.title == "Fast Things"
    assert first.abstract == "About & more" and first.authors == ("Ada Lovelace", "Alan Turing")
    assert first.url == "https://arxiv.org/abs/2401.01234" and first.upvotes == 7
    assert first.published.isoformat() == "2024-01-05T00:00:00+00:00"
    assert zero.title == "0" and zero.id == "doi:10.1000/abc" and zero.source_types == ("file",)


def test_sample_format_jsonl(tmp_path):
    lines = [{"title": "PowerInfer-2", "abstract": "phones", "listed": "May 8"}, {"title": "B"}]
    papers = run(tmp_path, "s.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n\n")
    assert [p.id for p in papers] == [title_id("PowerInfer-2"), title_id("B")]


def test_csv_with_semicolon_lists(tmp_path):
    text = (
        "title,authors,categories,published,upvotes,url\n"
        '"Deep, Wide Nets",Ada Lovelace; Alan Turing,cs.LG; cs.CL,2024-02-01T10:00:00+02:00,3,'
        "https://arxiv.org/abs/2402.00001\n"
    )
    [paper] = run(tmp_path, "p.csv", text)
    assert paper.title == "Deep, Wide Nets" and paper.authors == ("Ada Lovelace", "Alan Turing")
    assert paper.categories == ("cs.LG", "cs.CL") and paper.id == "arxiv:2402.00001"
    assert paper.published.utcoffset().total_seconds() == 7200


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("bad.json", '[{"title": "x"', "malformed JSON at line 1, column 15: expected ','"),
        (
            "cut.json",
            '[{"title": "x", "abstract": "never closed',
            "malformed JSON at line 1, column 29: a string starts here but is never closed",
        ),
        ("bad.jsonl", "not json\n{oops\n", r"no usable record \(line 1, column 1: not valid JSON"),
        ("bad.csv", "name,abstract\nx,y\n", "no 'title' column"),
        ("notitle.json", '[{"abstract": "x"}]', r"no usable record \(record 1: no title\)"),
        ("allbad.csv", "id,title\n2401.00001\n2401.00002,\n", r"\(line 2: no title; 1 more\)"),
        ("obj.json", '{"items": []}', "expected a list"),
        ("x.txt", "title\n", "cannot tell the format"),
    ],
)
def test_bad_files(tmp_path, name, content, reason):
    with pytest.raises(SourceError, match=reason) as info:
        run(tmp_path, name, content)
    assert "\n" not in info.value.reason


def test_jsonl_keeps_unicode_line_separators_inside_strings(tmp_path):
    # U+2028, U+2029 and U+0085 are legal, unescaped, inside a JSON string; only "\n" ends
    # a JSON Lines record ("\r\n" too).
    raw = '{"title": "Line\u2028sep\u2029para\u0085nel", "abstract": "a\u2028b"}'
    text = raw + "\r\n" + json.dumps({"title": "Second"}) + "\r\n"
    first, second = run(tmp_path, "u.jsonl", text)
    assert first.title == "Line sep para nel" and first.abstract == "a b"
    assert second.title == "Second"


def test_bad_records_are_skipped_and_reported(tmp_path, caplog):
    records = [{"title": "Good one"}, {"abstract": "no title"}, 7, {"title": "Good two"}]
    with caplog.at_level(logging.WARNING, logger="digest.sources"):
        papers = run(tmp_path, "some.json", json.dumps(records))
    assert [p.title for p in papers] == ["Good one", "Good two"]
    [warning] = [r for r in caplog.records if r.name == "digest.sources"]
    assert warning.levelno == logging.WARNING
    message = warning.getMessage()
    assert "some.json" in message and "skipped 2 of 4 records" in message
    assert "record 2: no title" in message and "record 3: not an object" in message


def test_short_trailing_csv_row_and_a_bad_jsonl_line_are_skipped(tmp_path, caplog):
    text = "id,title\n2401.00001,First\n2401.00002,Second\n2401.00003\n"
    with caplog.at_level(logging.WARNING, logger="digest.sources"):
        papers = run(tmp_path, "h.csv", text)
        lines = run(tmp_path, "l.jsonl", '{"title": "A"}\n{"title": "B"\n{"title": "C"}\n')
    assert [p.title for p in papers] == ["First", "Second"]
    assert [p.title for p in lines] == ["A", "C"]
    messages = [r.getMessage() for r in caplog.records if r.name == "digest.sources"]
    assert any("h.csv" in m and "line 4: no title" in m for m in messages)
    assert any("l.jsonl" in m and "line 2, column 14: not valid JSON" in m for m in messages)


def test_warning_names_only_the_first_few_records(tmp_path, caplog):
    records = [{"title": "ok"}] + [{"x": i} for i in range(20)]
    with caplog.at_level(logging.WARNING, logger="digest.sources"):
        [paper] = run(tmp_path, "many.json", json.dumps(records))
    [message] = [r.getMessage() for r in caplog.records if r.name == "digest.sources"]
    assert "record 6: no title" in message and "record 7:" not in message
    assert "15 more" in message


@pytest.mark.parametrize(
    "value, expected",
    [
        (7, 7),
        ("12", 12),
        (3.0, 3),
        (1e30, 10**9),
        ("1000000000000000019884624838656", 10**9),
        (-5, None),
        ("-5", None),
        (3.5, None),
        ("abc", None),
        ("inf", None),
        (True, None),
        ([1], None),
    ],
)
def test_counts_are_bounded_integers(tmp_path, value, expected):
    record = {"title": "t", "upvotes": value, "comments": value}
    [paper] = run(tmp_path, "c.json", json.dumps([record]))
    assert paper.upvotes == expected and paper.comments == expected


def test_unsafe_url_falls_back_to_the_arxiv_links(tmp_path):
    records = [
        {"id": "arXiv:2401.01234", "title": "t", "url": "javascript:alert(1)"},
        {"id": "2401.05678", "title": "u", "url": "https://ok.org/x", "pdf_url": "data:x"},
        {"title": "v", "url": "javascript:alert(1)", "code_url": "ftp://x"},
    ]
    first, second, third = run(tmp_path, "u.json", json.dumps(records))
    assert first.id == "arxiv:2401.01234"
    assert first.url == "https://arxiv.org/abs/2401.01234"
    assert first.pdf_url == "https://arxiv.org/pdf/2401.01234"
    assert second.url == "https://ok.org/x" and second.pdf_url == "https://arxiv.org/pdf/2401.05678"
    assert third.url is None and third.code_url is None


def test_missing_file_is_a_source_failure(tmp_path):
    ctx, _ = make_ctx(root=tmp_path)
    result = fetch_one(FileSource(name="mine", type="file", path="nope.json"), ctx)
    assert not result.ok and "does not exist" in result.error


def test_an_unreadable_csv_row_is_skipped_and_the_rest_kept(tmp_path, caplog):
    text = "title,abstract\nA,x\nB," + "y" * 200_000 + "\nC,z\n"
    with caplog.at_level(logging.WARNING, logger="digest.sources"):
        papers = run(tmp_path, "big.csv", text)
    assert [p.title for p in papers] == ["A", "C"]
    [message] = [r.getMessage() for r in caplog.records if r.name == "digest.sources"]
    assert "line 3: unreadable CSV (field larger than field limit" in message


def test_csv_line_numbers_count_blank_lines(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="digest.sources"):
        [paper] = run(tmp_path, "b.csv", "id,title\n\n2401.00001,Kept\n\n2401.00002,\n")
    assert paper.title == "Kept"
    [message] = [r.getMessage() for r in caplog.records if r.name == "digest.sources"]
    assert "(line 5: no title)" in message
