"""Safe XML: no DTDs, no entity expansion, no network, bounded memory.

Feeds come from servers we do not control. Two guards:
1. `check(data)` rejects a document whose prolog declares entities or an internal DTD subset
   (billion laughs, XXE) before any parser sees it. It is cheap (a scan of the bytes before
   the first element) and protects feedparser too, whose expat-based parser would
   otherwise read the internal subset.
2. `parse(data)` uses lxml with entity resolution, DTD loading, network access and huge
   trees turned off, so nothing slips through if the scan were ever fooled.
"""

from __future__ import annotations

import codecs
import re

from lxml import etree

from digest.parse_errors import xml_error

# The prolog ends at the first element start tag.
_FIRST_ELEMENT = re.compile(rb"<[A-Za-z_]")
_DOCTYPE_SUBSET = re.compile(rb"<!DOCTYPE[^>\[]*\[", re.IGNORECASE)
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)
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
    if data[:4] in (b"<\x00?\x00", b"\x00<\x00?"):
        encoding = "utf-16-le" if data[0] == 0x3C else "utf-16-be"
        text = data.decode(encoding, errors="replace")
        return _XML_DECL_ENCODING.sub(r"\1", text).encode("utf-8")
    return data


def check(data: bytes) -> bytes:
    """Raise UnsafeXMLError for entity declarations or an internal DTD subset; return the
    document (re-encoded to UTF-8 if it was UTF-16/32) for the parser."""
    data = to_utf8(data)
    first = _FIRST_ELEMENT.search(data)
    prolog = data[: first.start()] if first else data
    if _ENTITY.search(prolog) or _DOCTYPE_SUBSET.search(prolog):
        raise UnsafeXMLError("the document declares XML entities or a DTD; refused for safety")
    return data


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
    return root
