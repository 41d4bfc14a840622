"""The XML guard finds a DTD wherever it hides: behind a comment or PI that contains `<a`
(which used to end the prolog scan early), or in an encoding a byte scan cannot read. Every
attack goes through both real source parsers: `feed` (feedparser/expat) and `arxiv-feed`
(lxml)."""

from __future__ import annotations

import time

import pytest

from digest import safexml
from digest.errors import SourceError
from digest.sources import arxiv_feed, feed
from tests.support.replay_server import ReplayServer

# Each one ends the old "prolog" (the first `<letter`) before the DOCTYPE.
HIDERS = {
    "comment": "<!-- <a -->",
    "comment-with-gt": "<!-- <a> > ]]> -->",
    "processing-instruction": "<?pi <a ?>",
    "pi-with-gt": '<?pi <a href="x">?>',
}

LAUGHS = '<!ENTITY lol "lol">' + "".join(
    f'<!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">'
    for n in range(1, 10)
)


def rss(hider: str, subset: str, title: str = "&e;", decl: str = '<?xml version="1.0"?>') -> bytes:
    # No line break before the DOCTYPE: feedparser strips a DOCTYPE that starts a line (and
    # breaks the document), one that does not reaches expat whole, as an attacker wants.
    return (
        f"{decl}{hider}<!DOCTYPE rss [{subset}]>"
        '<rss version="2.0" xmlns:arxiv="http://arxiv.org/schemas/atom">'
        f"<channel><title>t</title><item><title>{title}</title>"
        "<link>https://arxiv.org/abs/2401.00001</link>"
        "<description>arXiv:2401.00001v1 Announce Type: new Abstract: x</description>"
        "<arxiv:announce_type>new</arxiv:announce_type></item></channel></rss>"
    ).encode()


def both_parsers_refuse(data: bytes) -> None:
    with pytest.raises(SourceError, match="entities or a DTD"):
        feed.parse_feed(data, "blog")
    with pytest.raises(SourceError, match="entities or a DTD"):
        arxiv_feed.parse_feed(data, "arxiv")
    with pytest.raises(safexml.UnsafeXMLError):
        safexml.check(data)


@pytest.mark.parametrize("hider", HIDERS.values(), ids=HIDERS.keys())
def test_a_dtd_hidden_behind_a_comment_or_pi_is_refused(hider):
    both_parsers_refuse(rss(hider, '<!ENTITY e "EXPANDED">'))


@pytest.mark.parametrize("hider", HIDERS.values(), ids=HIDERS.keys())
def test_hidden_billion_laughs_is_refused_fast(hider):
    started = time.perf_counter()
    both_parsers_refuse(rss(hider, LAUGHS, title="&lol9;"))
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("hider", HIDERS.values(), ids=HIDERS.keys())
def test_hidden_xxe_to_a_local_file_is_refused(tmp_path, hider):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    both_parsers_refuse(rss(hider, f'<!ENTITY e SYSTEM "{secret.as_uri()}">'))


def test_hidden_xxe_and_parameter_entities_never_reach_a_local_listener():
    with ReplayServer() as server:
        server.route("/secret", body=b"LEAKED", headers={"Content-Type": "text/plain"})
        server.route(
            "/evil.dtd", body=b'<!ENTITY e "LEAKED">', headers={"Content-Type": "text/plain"}
        )
        for hider in HIDERS.values():
            both_parsers_refuse(rss(hider, f'<!ENTITY e SYSTEM "{server.url("/secret")}">'))
            both_parsers_refuse(rss(hider, f'<!ENTITY % p SYSTEM "{server.url("/evil.dtd")}"> %p;'))
        time.sleep(0.05)
        assert server.count() == 0


def test_a_declaration_outside_any_doctype_is_refused():
    data = b'<?xml version="1.0"?><!-- <a --><!ENTITY e "x"><rss version="2.0"/>'
    with pytest.raises(safexml.UnsafeXMLError):
        safexml.check(data)


def _doc_in(encoding: str, text: str) -> bytes:
    return (f'<?xml version="1.0" encoding="{encoding}"?>' + text).encode(encoding)


ENCODED = {
    "ebcdic": lambda text: _doc_in("cp037", text),
    "utf-32-without-bom": lambda text: _doc_in("utf-32-be", text),
    # `<` written as `+ADw-`: no `<!` byte at all for a byte scan to see
    "utf-7": lambda text: _doc_in("utf-7", text).replace(b"<!DOCTYPE", b"+ADw-!DOCTYPE"),
}


@pytest.mark.parametrize("encode", ENCODED.values(), ids=ENCODED.keys())
def test_an_encoding_cannot_hide_a_dtd_from_feedparser(encode):
    data = encode(rss("", '<!ENTITY e "EXPANDED">', decl="").decode())
    with pytest.raises(SourceError, match="entities or a DTD"):
        feed.parse_feed(data, "blog")
    # lxml either refuses the encoding or finds the declarations: never expands
    with pytest.raises(SourceError):
        arxiv_feed.parse_feed(data, "arxiv")


def test_the_same_encodings_without_a_dtd_still_parse_as_feeds():
    text = rss("", "", decl="").decode().replace("<!DOCTYPE rss []>", "")
    text = text.replace("<title>&e;</title>", "<title>Caf\u00e9</title>")
    for encode in ENCODED.values():
        assert [p.title for p in feed.parse_feed(encode(text), "blog")] == ["Café"]


CDATA_ABOUT_DTDS = (
    b'<?xml version="1.0"?>\n<!-- feeds may talk about <!ENTITY x "y"> in comments -->\n'
    b"<?note <!DOCTYPE x [ ]> ?>\n"
    b'<rss version="2.0" xmlns:arxiv="http://arxiv.org/schemas/atom"><channel><title>t</title>'
    b"<item><title>On &lt;!ENTITY&gt; and <![CDATA[<!DOCTYPE x [<!ENTITY e 'v'>]>]]></title>"
    b"<link>https://arxiv.org/abs/2401.00001</link>"
    b"<description><![CDATA[arXiv:2401.00001v1 Announce Type: new Abstract: "
    b"Declare <!ENTITY e SYSTEM 'file:///etc/passwd'> to attack a parser.]]></description>"
    b"<arxiv:announce_type>new</arxiv:announce_type></item></channel></rss>"
)


def test_the_text_of_a_declaration_in_cdata_comments_and_pis_is_content_and_passes():
    """A paper about XML may quote `<!ENTITY` in CDATA: that is text, not a declaration,
    so the feed is read and the text kept as written."""
    (blog,) = feed.parse_feed(CDATA_ABOUT_DTDS, "blog")
    assert blog.title == "On <!ENTITY> and <!DOCTYPE x [<!ENTITY e 'v'>]>"
    assert "<!ENTITY e SYSTEM 'file:///etc/passwd'>" in blog.abstract
    (paper,) = arxiv_feed.parse_feed(CDATA_ABOUT_DTDS, "arxiv")
    assert paper.abstract == "Declare <!ENTITY e SYSTEM 'file:///etc/passwd'> to attack a parser."


def test_an_external_doctype_with_brackets_in_its_quoted_id_passes_unfetched():
    """`[` and `>` inside the quoted system identifier are not a subset nor the end."""
    with ReplayServer() as server:
        server.route("/a[1].dtd", body=b'<!ENTITY e "LEAKED">')
        url = server.url("/a[1].dtd")
        body = (
            '<rss version="2.0"><channel><title>t</title><item><title>ok</title>'
            "<link>https://x/1</link></item></channel></rss>"
        )
        public = f'<!DOCTYPE rss PUBLIC "-//x//DTD RSS//EN" "{url}">'
        data = f'<?xml version="1.0"?>{public}{body}'.encode()
        assert [p.title for p in feed.parse_feed(data, "blog")] == ["ok"]
        gt = f"<?xml version=\"1.0\"?><!DOCTYPE rss SYSTEM '{url}?q=>['>{body}".encode()
        assert safexml.parse(gt).tag == "rss"
        time.sleep(0.05)
        assert server.count() == 0


def test_lxml_second_opinion_catches_what_a_fooled_scan_would_miss(monkeypatch):
    data = rss("<!-- <a -->", '<!ENTITY e "EXPANDED">')
    assert safexml.declares_entities(data)
    assert not safexml.declares_entities(rss("", "").replace(b"<!DOCTYPE rss []>", b""))
    # were the scan ever fooled, both paths still refuse
    monkeypatch.setattr(safexml, "_scan", lambda data: None)
    both_parsers_refuse_without_scan(data)


def both_parsers_refuse_without_scan(data: bytes) -> None:
    with pytest.raises(SourceError, match="entities or a DTD"):
        feed.parse_feed(data, "blog")
    with pytest.raises(SourceError, match="entities or a DTD"):
        arxiv_feed.parse_feed(data, "arxiv")
