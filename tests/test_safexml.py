from __future__ import annotations

import time

import pytest
from lxml import etree

from digest import safexml
from digest.errors import SourceError
from digest.parse_errors import xml_error
from digest.sources import arxiv_feed, feed
from tests.support.replay_server import ReplayServer

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title>
<item><title>&lol9;</title><link>https://x/1</link></item></channel></rss>"""


def xxe(target: str) -> bytes:
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{target}">]>\n'
        '<rss version="2.0"><channel><title>t</title><item><title>&xxe;</title>'
        "<link>https://x/1</link><description>&xxe;</description></item></channel></rss>"
    ).encode()


def test_well_formed_document_parses():
    root = safexml.parse(b"<?xml version='1.0'?><a><b>caf\xc3\xa9 &amp; &#233;</b></a>")
    assert root.findtext("b") == "café & é"


def test_billion_laughs_is_refused_fast_by_every_parser():
    started = time.perf_counter()
    with pytest.raises(safexml.UnsafeXMLError):
        safexml.parse(BILLION_LAUGHS)
    with pytest.raises(SourceError, match="entities"):
        feed.parse_feed(BILLION_LAUGHS, "blog")
    with pytest.raises(SourceError, match="entities"):
        arxiv_feed.parse_feed(BILLION_LAUGHS, "arxiv")
    assert time.perf_counter() - started < 1.0


def test_lxml_parser_alone_does_not_expand_entities():
    """Defence in depth: were the prolog scan fooled, the parser still expands nothing."""
    try:
        root = etree.fromstring(BILLION_LAUGHS, parser=safexml._parser())
    except etree.XMLSyntaxError:
        return  # refusing is fine too
    assert len(etree.tostring(root)) < 10_000


def test_xxe_local_file_is_refused(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    for parse in (safexml.parse, lambda d: feed.parse_feed(d, "blog")):
        with pytest.raises((safexml.UnsafeXMLError, SourceError)):
            parse(xxe(secret.as_uri()))
    # and the raw parser does not read the file either
    try:
        root = etree.fromstring(xxe(secret.as_uri()), parser=safexml._parser())
        assert b"TOP-SECRET" not in etree.tostring(root)
    except etree.XMLSyntaxError:
        pass


def test_xxe_and_external_dtd_never_reach_a_local_listener():
    with ReplayServer() as server:
        server.route("/secret", body=b"LEAKED", headers={"Content-Type": "text/plain"})
        server.route(
            "/evil.dtd", body=b'<!ENTITY x "LEAKED">', headers={"Content-Type": "text/plain"}
        )
        with pytest.raises(safexml.UnsafeXMLError):
            safexml.parse(xxe(server.url("/secret")))
        with pytest.raises(SourceError):
            feed.parse_feed(xxe(server.url("/secret")), "blog")
        external = (
            f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "{server.url("/evil.dtd")}">'
            '<rss version="2.0"><channel><title>t</title></channel></rss>'
        ).encode()
        # an external DTD without an internal subset is allowed but never fetched
        assert etree.QName(safexml.parse(external)).localname == "rss"
        feed.parse_feed(external, "blog")
        raw = etree.fromstring(xxe(server.url("/secret")), parser=safexml._parser())
        assert b"LEAKED" not in etree.tostring(raw)
        time.sleep(0.05)
        assert server.count() == 0


def test_utf16_document_cannot_hide_a_doctype():
    doc = BILLION_LAUGHS.decode().replace(
        '<?xml version="1.0"?>', '<?xml version="1.0" encoding="utf-16"?>'
    )
    data = doc.encode("utf-16")  # with a BOM
    with pytest.raises(safexml.UnsafeXMLError):
        safexml.parse(data)
    ok = '<?xml version="1.0" encoding="utf-16"?><a>é</a>'.encode("utf-16")
    assert safexml.parse(ok).text == "é"


def test_truncated_and_empty_documents_fail_with_one_line():
    with pytest.raises(safexml.XMLSyntaxError) as info:
        safexml.parse(b"<rss><channel><title>cut")
    assert "\n" not in str(info.value) and "line" in str(info.value)
    with pytest.raises(safexml.XMLSyntaxError):
        safexml.parse(b"   ")


@pytest.mark.parametrize(
    "body, expected",
    [
        (
            b"<feed>\n  <entry>\n    <title>cut",
            "malformed XML at line 3, column 15: the document ends early: <title> "
            "(opened at line 3) is never closed",
        ),
        (
            b"<a>\n<b></a>",
            "malformed XML at line 2, column 8: </a> does not close <b> (opened at line 2)",
        ),
        (b"<a>fish & chips</a>", "a bare '&' (in XML it is written &amp;)"),
        (b"<a>&nbsp;</a>", "undefined entity &nbsp; (HTML entities are not XML)"),
        (b"<a/><b/>", "unexpected content after the end of the document"),
        (b"hello", "no XML element found (this does not look like XML)"),
    ],
)
def test_syntax_errors_say_where_and_what_in_words(body, expected):
    with pytest.raises(safexml.XMLSyntaxError) as info:
        safexml.parse(body)
    message = str(info.value)
    assert message.startswith("malformed XML at line ") and expected in message
    assert "\n" not in message


def test_expat_messages_are_put_in_words_too():
    # feedparser reports expat's wording when the safe parser would accept the document
    assert xml_error(57, 245, "not well-formed (invalid token)") == (
        "malformed XML at line 57, column 245: a character not allowed here "
        "(an unescaped '&' or '<'?)"
    )
    assert xml_error(None, None, "Something New") == "malformed XML: something New"
