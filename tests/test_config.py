"""config.yaml validation: every problem at once, with its key path and a suggestion."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from digest import config as config_mod
from digest.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def problems_of(raw) -> list[str]:
    with pytest.raises(ConfigError) as info:
        config_mod.parse(raw)
    return info.value.problems


def test_root_config_is_the_builtin_default():
    shipped = config_mod.load(ROOT / "config.yaml")
    builtin = config_mod.default_config(ROOT)
    assert shipped.model_dump(exclude={"root"}) == builtin.model_dump(exclude={"root"})
    assert [s.type for s in shipped.sources] == ["sample"]
    assert shipped.output.dir == "out" and shipped.state.endswith(".sqlite")


def test_load_without_file_uses_builtin_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = config_mod.load(None)
    assert cfg.sources[0].type == "sample"
    assert cfg.output_dir == Path(".") / "out"


def test_unknown_key_names_the_nearest_valid_one():
    problems = problems_of({"subscibers": []})
    assert problems == ["unknown key 'subscibers'; did you mean 'subscribers'?"]


def test_nested_unknown_key_has_its_path_and_suggestion():
    problems = problems_of(
        {"output": {"dri": "x"}, "sources": [{"name": "s", "type": "sample", "datset": "all"}]}
    )
    assert "unknown key 'dri' in output; did you mean 'dir'?" in problems
    assert "unknown key 'datset' in sources[0]; did you mean 'dataset'?" in problems


def test_every_problem_is_reported_at_once():
    raw = {
        "timezone": "Mars/Olympus",
        "topics": [{"name": "A", "query": "x"}],
        "subscribers": [
            {"email": "a@", "topics": ["A"]},
            {"email": "a b@c.org"},
            {"email": "x@example.org\nBcc: y@example.org"},
            {"email": "dup@example.org"},
            {"email": "DUP@example.org", "topics": ["B"]},
        ],
        "feeds": {"max_entries": "lots"},
    }
    problems = problems_of(raw)
    text = "\n".join(problems)
    assert "timezone: unknown timezone 'Mars/Olympus'" in text
    assert "subscribers[0].email: not a valid email address" in text
    assert "subscribers[1].email: not a valid email address" in text
    assert "subscribers[2].email: not a valid email address" in text
    assert "subscribers[4].email: 'DUP@example.org' is listed twice (also subscribers[3])" in text
    assert "subscribers[4].topics: unknown topic 'B'" in text
    assert "feeds.max_entries" in text
    assert len(problems) == 7


def test_unknown_source_type_lists_valid_types():
    problems = problems_of({"sources": [{"name": "x", "type": "rss"}]})
    assert len(problems) == 1
    assert "unknown source type 'rss'" in problems[0] and "arxiv-feed" in problems[0]


def test_bad_yaml_names_line_and_column(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("topics:\n  - name: A\n    query: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        config_mod.load(path)
    assert "is not valid YAML at line" in str(info.value)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        config_mod.load(tmp_path / "nope.yaml")


def test_weekday_names_and_paths_relative_to_config(tmp_path):
    path = tmp_path / "sub" / "config.yaml"
    path.parent.mkdir()
    path.write_text(
        yaml.safe_dump(
            {
                "state": "data/s.sqlite",
                "topics": [{"name": "All"}],
                "subscribers": [{"email": "w@example.org", "cadence": "weekly", "weekday": "fri"}],
            }
        ),
        encoding="utf-8",
    )
    cfg = config_mod.load(path)
    assert cfg.subscribers[0].weekday == 4
    assert cfg.state_path == path.parent.resolve() / "data" / "s.sqlite"


def test_secrets_are_read_from_the_environment(monkeypatch):
    cfg = config_mod.parse(
        {"delivery": {"method": "smtp"}, "smtp": {"host": "mx", "password_env": "MY_PW"}}
    )
    monkeypatch.setenv("MY_PW", "s3cret")
    assert cfg.smtp.password() == "s3cret"
    # The password itself is not a key: a literal password in the file is rejected.
    problems = problems_of({"smtp": {"password": "x"}})
    assert "did you mean 'password_env'?" in problems[0]


def test_smtp_method_needs_an_smtp_section():
    assert problems_of({"delivery": {"method": "smtp"}}) == [
        "smtp: delivery.method is smtp but there is no smtp section"
    ]


def test_senders_lists_and_queries_are_checked():
    problems = problems_of(
        {
            "delivery": {"from": "bogus", "reply_to": "nope"},
            "list": {"id": "x\ny", "unsubscribe_mailto": "zzz>, <http://evil.example"},
            "smtp": {"host": ""},
            "sources": [{"name": "h", "type": "huggingface", "date": "2026-13-45"}],
            "topics": [{"name": "a", "query": "   "}],
        }
    )
    text = "\n".join(problems)
    for key in (
        "delivery.from",
        "delivery.reply_to",
        "list.id",
        "list.unsubscribe_mailto",
        "smtp.host",
        "sources[0].date",
        "topics[0].query",
    ):
        assert key in text, key
    assert len(problems) == 7


def test_duplicate_yaml_keys_are_refused(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("title: A\ntitle: B\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="the key 'title' is given twice"):
        config_mod.load(path)


def test_subscribers_without_topics_is_an_error():
    assert "no topics are defined" in problems_of({"subscribers": [{"email": "a@example.org"}]})[0]


def test_international_addresses():
    cfg = config_mod.parse({"topics": [{"name": "t"}], "subscribers": [{"email": "ok@пример.рф"}]})
    assert cfg.subscribers[0].email == "ok@xn--e1afmkfd.xn--p1ai"
    problems = problems_of(
        {"topics": [{"name": "t"}], "subscribers": [{"email": "тест@example.org"}]}
    )
    assert "SMTPUTF8" in problems[0]


def test_wrong_types_are_said_in_words():
    problems = problems_of({"output": "out", "feeds": {"max_entries": "lots"}})
    assert "output: should be a mapping of keys (indented `key: value` lines)" in problems
    assert "feeds.max_entries: should be a whole number" in problems


def test_semantic_similarity_without_the_extra_is_a_config_error(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "sentence_transformers" else real(name, *a),
    )
    problems = problems_of(
        {"topics": [{"name": "t", "similar_to": ["x"], "similarity": "semantic"}]}
    )
    assert problems == [
        "topics[0].similarity: 'semantic' needs the optional semantic extra; install it with "
        "pip install '.[semantic]' (or use similarity: tfidf)"
    ]
