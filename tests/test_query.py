"""The topic query language: parsing, errors with columns, and what matches where."""

from __future__ import annotations

import pytest

from digest.analyze import stem, terms
from digest.config import parse as parse_config
from digest.errors import ConfigError
from digest.index import build_index
from digest.models import Paper
from digest.query import And, Not, Or, QuerySyntaxError, Term, parse_query
from tests.support.select_data import all_papers

P = Paper(
    id="arxiv:1",
    title="Sparse Transformers for Large Language Model Inference",
    abstract="We quantize the key-value cache. Vision encoders are not used. Flash-LLM helps.",
    authors=("Geoffrey E. Hinton", "Zoë Müller"),
    categories=("cs.LG", "cs.CL"),
    sources=("hf",),
    source_types=("huggingface",),
)


def matches(query: str, paper: Paper = P) -> bool:
    return parse_query(query).evaluate(paper) is not None


# ------------------------------------------------------------------ parsing
def test_tree_shape_and_precedence():
    q = parse_query("a b OR c AND NOT d")
    assert isinstance(q.root, Or)
    left, right = q.root.children
    assert isinstance(left, And) and [t.text for t in left.children] == ["a", "b"]
    assert isinstance(right, And) and isinstance(right.children[1], Not)


def test_parentheses_and_field_scope_on_group():
    q = parse_query('title:(llm OR "language model") abstract:cache')
    assert isinstance(q.root, And)
    group, cache = q.root.children
    assert {t.field for t in group.children} == {"title"}
    assert group.children[1].tokens == ("languag", "model") and group.children[1].quoted
    assert cache.field == "abstract"


def test_operators_any_case_and_minus():
    assert parse_query("a or b").root == parse_query("a OR b").root
    assert isinstance(parse_query("-quantum").root, Not)


@pytest.mark.parametrize(
    ("query", "column", "words"),
    [
        ("llm OR", 5, "ends after 'OR'"),
        ("(llm OR vision", 1, "never closed"),
        ("llm )", 5, "unexpected ')'"),
        ('llm "large model', 5, "never closed"),
        ("AND llm", 1, "needs a term on its left"),
        ("llm AND OR x", 9, "expected a term after 'AND'"),
        ("foo:bar", 1, "unknown field 'foo:'"),
        ("llm titel:x", 5, "unknown field"),
        ("title:", 1, "add a term"),
        ("llm ()", 6, "unexpected ')'"),
        ("x - y", 3, "no letters or digits"),
        ("   ", 1, "empty"),
    ],
)
def test_syntax_errors_name_the_column(query, column, words):
    with pytest.raises(QuerySyntaxError) as info:
        parse_query(query)
    assert info.value.column == column
    assert f"column {column}" in str(info.value) and words in str(info.value)
    assert isinstance(info.value, ValueError)


def test_bad_query_is_a_config_error_naming_the_topic():
    raw = {"topics": [{"name": "Broken", "query": "llm AND (vision"}]}
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    assert any("Broken" in p and "column 9" in p for p in info.value.problems)


# ------------------------------------------------------------------ analysis
@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("transformer", "Transformers"),
        ("inference", "inferencing"),
        ("study", "studies"),
        ("embedding", "embedded"),
        ("LLM", "LLMs"),
        ("image", "images"),
        ("process", "processes"),
    ],
)
def test_light_stemming_conflates(a, b):
    assert terms(a) == terms(b)


def test_light_stemming_keeps_apart():
    assert stem("generative") != stem("generation")
    assert terms("int8") == ["int8"] and terms("Bäck") == ["back"]


# ------------------------------------------------------------------ matching
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("transformer", True),  # plural in the title
        ("TRANSFORMER sparse", True),  # implicit AND, any case
        ("transformer quantum", False),
        ("quantum OR sparse", True),
        ("sparse NOT vision", False),  # vision is in the abstract
        ("sparse -quantum", True),
        ('"large language model"', True),
        ('"language large model"', False),  # a phrase keeps its order
        ('"model inference"', True),
        ("flash-llm", True),  # punctuation inside: a phrase of its parts
        ("quantiz*", True),  # quantize
        ("title:vision", False),
        ("abstract:vision", True),
        ("title:(sparse AND inference)", True),
        ("author:hinton", True),
        ('author:"geoffrey hinton"', False),  # not adjacent (middle initial)
        ('author:"zoe muller"', True),  # accents folded
        ('author:"hinton zoe"', False),  # a phrase never spans two authors
        ("category:cs.lg", True),
        ("category:cs", True),
        ("category:stat", False),
        ("source:huggingface OR source:arxiv", True),
        ("(quantum OR vision) AND NOT (cache OR helps)", False),
        ("NOT quantum", True),
        ('"and"', False),
    ],
)
def test_matching(query, expected):
    assert matches(query) is expected


def test_reasons_say_what_matched_where():
    query = parse_query('"large language model" OR cache OR quantum OR category:cs.CL')
    reasons = query.evaluate(P)
    described = [r.describe() for r in reasons]
    assert described == ["“large language model” in title", "“cache” in abstract", "category cs.CL"]
    assert [r.kind for r in reasons] == ["phrase", "keyword", "category"]


def test_negated_terms_are_not_reasons():
    reasons = parse_query("sparse NOT quantum").evaluate(P)
    assert [r.text for r in reasons] == ["sparse"]


def test_batch_and_single_paper_agree():
    papers = all_papers()
    index = build_index(papers)
    for text in [
        '"large language model" OR LLM',
        "image OR vision -transformer",
        "title:transformer*",
        "agent* AND (LLM OR MLLM)",
        "NOT matrix",
    ]:
        q = parse_query(text)
        batch = set(q.run(index).docs.tolist())
        single = {i for i, p in enumerate(papers) if q.evaluate(p) is not None}
        assert batch == single, text
        assert batch, text


def test_term_kinds():
    t = parse_query('"vision"').root
    assert isinstance(t, Term) and t.kind == "phrase"
    assert parse_query("author:x").root.kind == "author"


# ------------------------------------------------------------------ batch tokenizer
@pytest.mark.parametrize(
    "texts",
    [
        [P.title, P.abstract, "", "   ", "Zoë Müller's naïve café: ﬁne-tuning Ⅻ 東京 α-β"],
        ["abcdefg abcdefgh abcdefghi " * 3, "x" * 49 + " " + "x" * 49 + " " + "y" * 80, "end"],
        ["a_b a-b A.B 3.14 x\x00y \t\n tab", "Ünïcödé ÀÉÎ straße"],
    ],
)
def test_batch_tokenizer_agrees_with_the_plain_one(texts):
    from digest.analyze import Vocab
    from digest.tokenize import plain_tokenize, tokenize

    fast, plain = Vocab(), Vocab()
    ids, offsets = tokenize(texts, fast)
    want, want_offsets = plain_tokenize(texts, plain)
    assert offsets.tolist() == want_offsets.tolist()
    assert [fast.terms[i] for i in ids] == [plain.terms[i] for i in want]


def test_postings_count_each_paper_once_with_its_frequency():
    papers = all_papers()
    index = build_index(papers)
    tid = index.vocab.lookup("model")
    docs, freq = index.fields["abstract"].postings(tid)
    want = {d: terms(p.abstract).count("model") for d, p in enumerate(papers)}
    assert dict(zip(docs.tolist(), freq.tolist(), strict=True)) == {
        d: float(c) for d, c in want.items() if c
    }
    assert index.fields["abstract"].counts[:, tid].toarray().ravel().tolist() == [
        want[d] for d in range(len(papers))
    ]
