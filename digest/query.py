"""The topic query language.

A topic's `query` selects papers; everything is case- and accent-insensitive.

    word              a word in the title or abstract, lightly stemmed: `transformer`
                      also finds "Transformers", `inference` finds "inferencing"
    "a phrase"        the words next to each other, in this order
    quantiz*          any word starting with the prefix (quantized, quantization)
    a b               both (adjacent terms are joined by AND)
    a AND b           both
    a OR b            either
    NOT a, -a         papers without it
    ( ... )           grouping; NOT binds tightest, then AND, then OR
    title:word        only in the title; also title:"a phrase", title:(a OR b)
    abstract:word     only in the abstract
    author:name       an author's name: author:hinton, author:"geoffrey hinton"
    category:cs.LG    an arXiv/feed category; category:cs covers every cs.*
    source:name       a configured source (by name or type): source:huggingface

AND, OR and NOT are operators in any case (`and` too); to search for one of those words,
quote it: "not". A word written with punctuation inside (Flash-LLM, LLM.int8) is the
phrase of its parts. Example: `"large language model" OR LLM OR inference`.

A query that does not parse raises QuerySyntaxError, whose message names the column
(1-based). Scores are explained in digest/rank.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from digest.analyze import fold, stem, terms
from digest.models import Paper, Reason

if TYPE_CHECKING:  # numpy and the index load only when a query runs
    from digest.index import Index

FIELDS = ("title", "abstract", "author", "category", "source")
OPERATORS = ("AND", "OR", "NOT")


class QuerySyntaxError(ValueError):
    """A query that does not parse; `column` is 1-based."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(f"{message} (column {column})")
        self.column = column


# ------------------------------------------------------------------------------ the tree
@dataclass(frozen=True)
class Term:
    text: str  # as the user wrote it (without quotes / *)
    tokens: tuple[str, ...]  # stemmed terms; for category/source the folded value
    field: str | None = None  # None: title or abstract
    quoted: bool = False
    prefix: bool = False

    @property
    def kind(self) -> str:
        if self.field in ("author", "category", "source"):
            return self.field
        return "phrase" if self.quoted or len(self.tokens) > 1 else "keyword"


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


Node = Term | Not | And | Or


@dataclass(frozen=True)
class Query:
    text: str
    root: Node

    def leaves(self) -> list[tuple[Term, bool]]:
        """Every term with whether it counts for the paper (False under NOT)."""
        out: list[tuple[Term, bool]] = []

        def walk(node: Node, positive: bool) -> None:
            if isinstance(node, Term):
                out.append((node, positive))
            elif isinstance(node, Not):
                walk(node.child, not positive)
            else:
                for child in node.children:
                    walk(child, positive)

        walk(self.root, True)
        return out

    def run(self, index: Index) -> Any:
        """Evaluate over every paper of an index: a digest.query_eval.QueryResult."""
        from digest.query_eval import evaluate

        return evaluate(self, index)

    def evaluate(self, paper: Paper) -> tuple[Reason, ...] | None:
        """Whether one paper matches: None if not, else the terms that matched and where.
        (Uses the same engine as the batch path, so the two never disagree.)"""
        from digest.index import build_index

        result = self.run(build_index([paper]))
        if not len(result.docs):
            return None
        return result.reasons(0)

    def __str__(self) -> str:
        return self.text


# ------------------------------------------------------------------------------ lexer
@dataclass(frozen=True)
class _Tok:
    kind: str  # ( ) WORD PHRASE FIELD AND OR NOT
    value: str
    column: int


def _lex(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            out.append(_Tok(ch, ch, i + 1))
            i += 1
        elif ch == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise QuerySyntaxError(
                    f"the phrase opened by the quote at column {i + 1} "
                    'is never closed: add a closing "',
                    i + 1,
                )
            out.append(_Tok("PHRASE", text[i + 1 : end], i + 1))
            i = end + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in '()"':
                j += 1
            word = text[i:j]
            head, colon, _ = word.partition(":")
            if colon:
                if head.lower() in FIELDS:
                    out.append(_Tok("FIELD", head.lower(), i + 1))
                    i += len(head) + 1
                    continue
                raise QuerySyntaxError(
                    f"unknown field {head + ':'!r}; use one of "
                    + ", ".join(f + ":" for f in FIELDS)
                    + " (or quote the text to search for it)",
                    i + 1,
                )
            if word.upper() in OPERATORS:
                out.append(_Tok(word.upper(), word, i + 1))
            elif word.startswith("-") and len(word) > 1:
                out.append(_Tok("NOT", "-", i + 1))
                i += 1
                continue
            else:
                out.append(_Tok("WORD", word, i + 1))
            i = j
    return out


# ------------------------------------------------------------------------------ parser
class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _lex(text)
        self.pos = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def take(self) -> _Tok:
        tok = self.toks[self.pos]
        self.pos += 1
        return tok

    def need_term(self, after: _Tok) -> None:
        nxt = self.peek()
        label = after.value + (":" if after.kind == "FIELD" else "")
        if nxt is None:
            raise QuerySyntaxError(
                f"the query ends after {label!r}: add a term after it", after.column
            )
        if nxt.kind in (")", "AND", "OR"):
            raise QuerySyntaxError(
                f"expected a term after {label!r}, found {nxt.value!r}", nxt.column
            )

    def parse(self) -> Node:
        if not self.toks:
            raise QuerySyntaxError("the query is empty", 1)
        node = self.parse_or(None)
        tok = self.peek()
        if tok is not None:  # only a stray ')' can stop parse_or early
            raise QuerySyntaxError("unexpected ')' with no '(' before it", tok.column)
        return node

    def parse_or(self, field: str | None) -> Node:
        items = [self.parse_and(field)]
        while (tok := self.peek()) is not None and tok.kind == "OR":
            self.take()
            self.need_term(tok)
            items.append(self.parse_and(field))
        return items[0] if len(items) == 1 else Or(tuple(items))

    def parse_and(self, field: str | None) -> Node:
        items = [self.parse_unary(field)]
        while (tok := self.peek()) is not None and tok.kind not in (")", "OR"):
            if tok.kind == "AND":
                self.take()
                self.need_term(tok)
            items.append(self.parse_unary(field))
        return items[0] if len(items) == 1 else And(tuple(items))

    def parse_unary(self, field: str | None) -> Node:
        tok = self.peek()
        if tok is not None and tok.kind == "NOT":
            self.take()
            self.need_term(tok)
            return Not(self.parse_unary(field))
        return self.parse_primary(field)

    def parse_primary(self, field: str | None) -> Node:
        tok = self.peek()
        if tok is None:  # pragma: no cover - need_term guards every caller
            raise QuerySyntaxError("the query ends too early", len(self.text) + 1)
        if tok.kind in ("AND", "OR"):
            raise QuerySyntaxError(f"{tok.value!r} needs a term on its left", tok.column)
        if tok.kind == ")":
            raise QuerySyntaxError("unexpected ')'", tok.column)
        self.take()
        if tok.kind == "(":
            node = self.parse_or(field)
            close = self.peek()
            if close is None or close.kind != ")":
                raise QuerySyntaxError("the '(' here is never closed: add a ')'", tok.column)
            self.take()
            return node
        if tok.kind == "FIELD":
            self.need_term(tok)
            if self.peek().kind == "NOT":  # type: ignore[union-attr]
                raise QuerySyntaxError(
                    f"write NOT {tok.value}:... rather than {tok.value}:NOT", tok.column
                )
            return self.parse_primary(tok.value)
        return _term(tok, field)


def _term(tok: _Tok, field: str | None) -> Term:
    raw = tok.value
    quoted = tok.kind == "PHRASE"
    prefix = not quoted and raw.endswith("*") and len(raw) > 1
    body = raw[:-1] if prefix else raw
    if field in ("category", "source"):
        value = fold(body).strip()
        if not value:
            raise QuerySyntaxError(f"{field}: needs a value", tok.column)
        return Term(body, (value,), field, quoted)
    tokens = tuple(terms(body))
    if not tokens:
        raise QuerySyntaxError(f"{raw!r} has no letters or digits to search for", tok.column)
    if prefix:
        if len(tokens) != 1:
            raise QuerySyntaxError(f"a * prefix works on one word, not {raw!r}", tok.column)
        tokens = (stem(fold(body)),) if body.isalpha() else tokens
    return Term(body, tokens, field, quoted, prefix)


def parse_query(text: str) -> Query:
    """Parse a topic query. Raises QuerySyntaxError naming the (1-based) column."""
    return Query(text, _Parser(text).parse())
