from __future__ import annotations

import json

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
        ("bad.json", '[{"title": "x"', "malformed JSON"),
        ("bad.jsonl", '{"title": "x"}\nnot json\n', "line 2 is not valid JSON"),
        ("bad.csv", "name,abstract\nx,y\n", "no 'title' column"),
        ("notitle.json", '[{"abstract": "x"}]', "record 1 has no title"),
        ("obj.json", '{"items": []}', "expected a list"),
        ("x.txt", "title\n", "cannot tell the format"),
    ],
)
def test_bad_files(tmp_path, name, content, reason):
    with pytest.raises(SourceError, match=reason):
        run(tmp_path, name, content)


def test_missing_file_is_a_source_failure(tmp_path):
    ctx, _ = make_ctx(root=tmp_path)
    result = fetch_one(FileSource(name="mine", type="file", path="nope.json"), ctx)
    assert not result.ok and "does not exist" in result.error
