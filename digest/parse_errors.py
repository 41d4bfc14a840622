"""Parse errors in words a user understands: where (line, column) and what is wrong.

Parsers report in their own jargon (`<unknown>:57:244: not well-formed (invalid token)`,
`Premature end of data in tag creator line 20, line 20, column 171`, `Unterminated string
starting at`); a source's failure reason says `malformed XML at line 57, column 244: <reason>`
instead. Columns are 1-based, as editors count them.
"""

from __future__ import annotations

import json
import re

JSON_REASONS = {
    "Expecting value": "expected a value (a string, number, list or object)",
    "Unterminated string starting at": "a string starts here but is never closed",
    "Extra data": "unexpected text after the end of the JSON value",
    "Invalid control character at": "a raw control character (e.g. a tab) inside a string",
    "Invalid \\escape": "an invalid backslash escape",
    "Expecting property name enclosed in double quotes": 'expected a "quoted" field name',
    "Expecting ',' delimiter": "expected ',' between items",
    "Expecting ':' delimiter": "expected ':' after a field name",
}

# libxml2 (lxml) messages, matched at the start; groups are used in the replacement.
_LIBXML = [
    (
        r"Premature end of data in tag (\S+) line (\d+)",
        r"the document ends early: <\1> (opened at line \2) is never closed",
    ),
    (
        r"Opening and ending tag mismatch: (\S+) line (\d+) and (\S+)",
        r"</\3> does not close <\1> (opened at line \2)",
    ),
    (r"EndTag: '</' not found", "the document ends inside an end tag"),
    (r"Couldn't find end of Start Tag (\S+)", r"the start tag <\1> is never finished"),
    (
        r"Extra content at the end of the document",
        "unexpected content after the end of the document",
    ),
    (r"Start tag expected, '<' not found", "no XML element found (this does not look like XML)"),
    (r"Document is empty", "the document is empty"),
    (
        r"(?:xmlParseEntityRef: no name|EntityRef: expecting ';')",
        "a bare '&' (in XML it is written &amp;)",
    ),
    (r"Entity '([^']+)' not defined", r"undefined entity &\1; (HTML entities are not XML)"),
    (r"Input is not proper UTF-8", "the text is not valid UTF-8 and no other encoding is declared"),
    (
        r"(?:PCDATA invalid Char value|Char 0x[0-9A-Fa-f]+ out of allowed range)",
        "a character XML does not allow (a control character?)",
    ),
    (
        r"StartTag: invalid element name",
        "a '<' that does not start a tag (in XML it is written &lt;)",
    ),
    (r"AttValue: \" or ' expected", "an attribute value without quotes"),
]
# expat (feedparser) messages, matched whole.
_EXPAT = {
    "no element found": "the document ends early (it is cut off or empty)",
    "not well-formed (invalid token)": "a character not allowed here (an unescaped '&' or '<'?)",
    "mismatched tag": "an end tag does not match the open element",
    "undefined entity": "an undefined entity (HTML entities such as &nbsp; are not XML)",
    "junk after document element": "unexpected content after the end of the document",
    "syntax error": "this does not look like XML",
    "unclosed token": "the document ends inside a tag",
    "reference to invalid character number": "a reference to a character XML does not allow",
    "duplicate attribute": "an element repeats an attribute",
    "unbound prefix": "a namespace prefix that is never declared",
}
_POSITION_SUFFIX = re.compile(r",?\s*line \d+, column \d+\s*$")


def json_reason(exc: json.JSONDecodeError) -> str:
    return JSON_REASONS.get(exc.msg, _lower_first(exc.msg))


def json_error(exc: json.JSONDecodeError) -> str:
    """`line N, column M: <reason>`."""
    return f"line {exc.lineno}, column {exc.colno}: {json_reason(exc)}"


def xml_reason(message: str) -> str:
    """A libxml2 or expat message in plain words (unknown ones are passed on, one line)."""
    text = (message or "").strip().splitlines()[0] if (message or "").strip() else ""
    text = _POSITION_SUFFIX.sub("", text).strip()
    if text in _EXPAT:
        return _EXPAT[text]
    for pattern, words in _LIBXML:
        found = re.match(pattern, text)
        if found:
            return found.expand(words)
    return _lower_first(text) or "not well-formed"


def xml_error(line: int | None, column: int | None, message: str) -> str:
    """`malformed XML at line N, column M: <reason>` (the position as far as known)."""
    where = ""
    if line:
        where = f" at line {line}" + (f", column {column}" if column else "")
    return f"malformed XML{where}: {xml_reason(message)}"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
