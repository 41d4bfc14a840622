"""Safe XML: no DTDs, no entity expansion, no network, bounded memory.

Feeds come from servers we do not control. Three guards:
1. `check(data)` rejects a document with an internal DTD subset (`<!DOCTYPE x [ ... ]>`) or
   an `<!ENTITY` declaration anywhere outside comments, processing instructions and CDATA
   sections (billion laughs, XXE) before any parser sees it. It walks the markup the way an
   XML parser does, so a comment or PI that merely *contains* `<a` cannot end the scan early
   and hide a DOCTYPE after it. The literal text `<!ENTITY` inside CDATA, a comment or a PI
   is content, not a declaration, and passes. This protects feedparser too, whose expat
   parser would otherwise read the internal subset.
2. `declares_entities(data)` asks lxml's safe parser (in recover mode) whether the document
   has an internal subset with declarations: an independent second opinion, used before
   feedparser sees the bytes.
3. `parse(data)` uses lxml with entity resolution, DTD loading, network access and huge
   trees turned off, and refuses a document whose parsed internal subset declares anything,
   so nothing slips through if the scan were ever fooled.
"""

from __future__ import annotations

import codecs
import re

from lxml import etree

from digest.parse_errors import xml_error

# Only `<!` and `<?` open markup that can hide or hold a declaration; start and end tags
# cannot (`<` is not allowed in attribute values or text).
_MARKUP = re.compile(rb"<[!?]")
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
# The DOCTYPE up to its `[` or `>`, quoted identifiers taken whole.
_DOCTYPE_HEAD = re.compile(rb"""(?:[^"'\[>]+|"[^"]*"|'[^']*')*""")
# Declarations only legal inside a DTD: outside one they are either an attack or garbage.
_DECLARATION = re.compile(rb"<!(?:ENTITY|ELEMENT|ATTLIST|NOTATION)", re.IGNORECASE)
UNSAFE_MESSAGE = "the document declares XML entities or a DTD; refused for safety"
_XML_DECL_ENCODING = re.compile(r"^(<\?xml[^>]*?)\s+encoding\s*=\s*['\"][^'\"]*['\"]")

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


class UnsafeXMLError(ValueError):
    """The document declares entities or a DTD subset: refused, never parsed."""


class XMLSyntaxError(ValueError):
    """The document is not well-formed XML. The message is one line in plain words:
    `malformed XML at line N, column M: <reason>`."""


def to_utf8(data: bytes) -> bytes:
    """UTF-16/32 documents re-encoded to UTF-8 (their declaration fixed to match), so the
    byte scan below sees the markup. Other documents are returned unchanged."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            text = data[len(bom) :].decode(encoding, errors="replace")
            return _XML_DECL_ENCODING.sub(r"\1", text).encode("utf-8")
    for head, encoding in ((b"<\x00\x00\x00", "utf-32-le"), (b"\x00\x00\x00<", "utf-32-be")):
        if data.startswith(head):
            text = data.decode(encoding, errors="replace")
            return _XML_DECL_ENCODING.sub(r"\1", text).encode("utf-8")
    if data[:4] in (b"<\x00?\x00", b"\x00<\x00?"):
        encoding = "utf-16-le" if data[0] == 0x3C else "utf-16-be"
        text = data.decode(encoding, errors="replace")
        return _XML_DECL_ENCODING.sub(r"\1", text).encode("utf-8")
    return data


def check(data: bytes) -> bytes:
    """Raise UnsafeXMLError for entity declarations or an internal DTD subset; return the
    document (re-encoded to UTF-8 if it was UTF-16/32) for the parser."""
    data = to_utf8(data)
    _scan(data)
    return data


def _scan(data: bytes) -> None:
    """Walk every comment, PI, CDATA section and `<!...>` declaration of the whole document.

    Each construct is skipped to the terminator an XML parser uses (`-->`, `?>`, `]]>`), so
    what is hidden inside one is never mistaken for markup and markup after one is never
    missed. Where this walk and a parser could disagree (an unterminated comment, CDATA in
    the prolog), the parser stops with a syntax error at that point, before anything the
    walk skipped could take effect."""
    position = 0
    while (found := _MARKUP.search(data, position)) is not None:
        start = found.start()
        if data.startswith(b"<!--", start):
            end = data.find(b"-->", start + 4)
            position = len(data) if end < 0 else end + 3
        elif data.startswith(b"<?", start):
            end = data.find(b"?>", start + 2)
            position = len(data) if end < 0 else end + 2
        elif data.startswith(b"<![CDATA[", start):
            end = data.find(b"]]>", start + 9)
            position = len(data) if end < 0 else end + 3
        elif _DOCTYPE.match(data, start):
            position = _skip_doctype(data, start + 9)
        elif _DECLARATION.match(data, start):
            raise UnsafeXMLError(UNSAFE_MESSAGE)
        else:
            position = start + 2


def _skip_doctype(data: bytes, start: int) -> int:
    """The offset after `<!DOCTYPE name [PUBLIC|SYSTEM "..." ["..."]]>`; an internal subset
    (`[` outside the quoted identifiers) is refused. Quotes are honoured so a `>` or `[` in a
    system identifier is read as the parser reads it."""
    head = _DOCTYPE_HEAD.match(data, start)
    assert head is not None  # the pattern matches the empty string
    end = head.end()
    if data[end : end + 1] == b"[":
        raise UnsafeXMLError(UNSAFE_MESSAGE)
    return end + 1


def declares_entities(data: bytes) -> bool:
    """Whether lxml, parsing without loading or resolving anything, finds an internal DTD
    subset that declares entities or elements. Recover mode: a document broken later on
    still has its prolog read, as a streaming parser would read it before failing."""
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        recover=True,
    )
    try:
        root = etree.fromstring(data, parser=parser)
    except (etree.XMLSyntaxError, ValueError):
        return False  # nothing lxml can read: the caller's own parser refuses it too
    return root is not None and _has_declarations(root)


def _has_declarations(root: etree._Element) -> bool:
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is None:
        return False
    return any(True for _ in dtd.iterentities()) or any(True for _ in dtd.iterelements())


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
        recover=False,
    )


def parse(data: bytes) -> etree._Element:
    """The root element of a checked, well-formed document."""
    data = check(data)
    if not data.strip():
        raise XMLSyntaxError("the document is empty")
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        line, column = getattr(exc, "position", None) or (getattr(exc, "lineno", None), None)
        message = str(exc.msg if getattr(exc, "msg", None) else exc)
        raise XMLSyntaxError(xml_error(line, column, message)) from None
    if root is None:
        raise XMLSyntaxError("the document has no root element")
    if _has_declarations(root):
        raise UnsafeXMLError(UNSAFE_MESSAGE)
    return root
