from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import replace

import pytest

from digest.errors import TemplateError
from digest.models import Digest, Links, TopicSection
from digest.render import Renderer, render_digest_naive
from digest.render.view import SNIPPET_CHARS, cut, shorten_authors, slugify, topic_slugs
from tests.support import render_sample as s


@pytest.fixture
def renderer(tmp_path):
    return Renderer(s.config(tmp_path))


def shown(html: str) -> str:
    """The email's HTML as a reader's client sees it: the 7-bit rewrite undone (character
    references of non-ASCII characters, line breaks inside start tags). Escapes stay."""
    html = re.sub(r"&#(\d+);", lambda m: chr(int(m[1])) if int(m[1]) > 127 else m[0], html)
    return re.sub(r"<([A-Za-z][A-Za-z0-9]*)\n", r"<\1 ", html)


@pytest.fixture
def rendered(renderer):
    subject, html, text = renderer.render_digest(s.digest(), s.links())
    return subject, shown(html), text


def test_untrusted_text_is_escaped_in_html(rendered):
    _, html, _ = rendered
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;quotes&#34;" in html
    assert "<b>markup</b>" not in html and "&lt;b&gt;markup&lt;/b&gt;" in html
    assert "Mallory &lt;m@evil.example&gt;" in html
    assert 'href="javascript:' not in html.lower()


def test_each_paper_shows_title_authors_snippet_links_and_why(rendered):
    subject, html, _ = rendered
    assert subject == "Trending Papers — 11 new papers, Dec 1"
    assert ">PowerInfer-2: Fast Large Language Model Inference on a Smartphone</a>" in html
    assert "Zhenliang Xue, Yixin Song, Zeyu Mi, +7" in html
    assert "Author0 Surname0, Author1 Surname1, Author2 Surname2, +497" in html
    assert "29.2× speed increase" in html and "O(n³)" in html and "naïve" in html
    assert "Why you got this:</strong> “llm” in title, by Yixin Song" in html
    for url in ("https://arxiv.org/pdf/2406.06282", "https://github.com/SJTU-IPADS/PowerInfer"):
        assert f'href="{url}"' in html
    assert "42 upvotes" in html and "cs.LG" in html and ">hf-daily</span>" in html
    assert "11 new papers in 3 topics" in html and "Tuesday, December 1, 2026" in html


def test_footer_links_and_omitted(rendered):
    _, html, text = rendered
    for url in (
        "https://digest.example.org/manage/abc",
        "https://digest.example.org/unsubscribe/abc",
        "https://digest.example.org/archive/2026-12-01.html",
    ):
        assert f'href="{url}"' in html
        assert url in text
    assert "…and 2 more papers" in html and "see them all in the web version" in html
    assert "because you subscribed to: Efficient LLMs, Vision, Trending." in html


def test_omitted_without_web_version_and_no_links(renderer):
    _, html, text = renderer.render_digest(s.digest(omitted=1), Links())
    html = shown(html)
    assert "…and 1 more paper not shown here." in html
    assert "Unsubscribe" not in html and "Links:" in text  # paper links are still listed


def test_without_a_one_click_link_the_footer_says_how_to_unsubscribe(renderer):
    links = Links(unsubscribe_mailto="leave@example.org")
    _, html, text = renderer.render_digest(s.digest(), links)
    assert 'href="mailto:leave@example.org?subject=unsubscribe"' in html
    assert "To unsubscribe, email leave@example.org" in " ".join(text.split())
    # With the one-click link, the mailto sentence is not needed.
    _, html, _ = renderer.render_digest(s.digest(), s.links())
    assert "To unsubscribe, email" not in html


def test_no_web_font_is_fetched(rendered):
    _, html, _ = rendered
    assert "fonts.googleapis.com" not in html and "@import" not in html


def test_html_is_phone_and_dark_mode_friendly(rendered):
    _, html, _ = rendered
    assert '<html lang="en"' in html
    assert re.search(r'<meta name="color-scheme" content="light dark" ?/?>', html)
    assert "@media (prefers-color-scheme: dark)" in html
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in html
    assert "overflow-wrap:anywhere" in html


def test_subject_is_one_short_line(renderer):
    cfg = s.config(renderer.config.root, title="Weekly\r\nBcc: x@evil.example " + "long " * 18)
    subject, _, _ = Renderer(cfg).render_digest(s.digest(), s.links())
    assert "\n" not in subject and "\r" not in subject
    assert len(subject) < 80
    empty = Digest(issue=s.issue(), subscriber=s.subscriber(), sections=())
    subject, html, text = renderer.render_digest(empty, s.links())
    assert subject == "Trending Papers — no new papers, Dec 1"
    assert "Nothing new matched your topics" in shown(html) and "Nothing new matched" in text


def test_compiled_email_equals_the_naive_path(renderer):
    for digest in (
        s.digest(),
        s.digest(omitted=0, tm={"Trending": s.matches("Trending", s.seed_papers(62))}),
        Digest(issue=s.issue(), subscriber=s.subscriber(), sections=()),
    ):
        for links in (s.links(), Links()):
            fast = renderer.render_digest(digest, links)
            assert fast == render_digest_naive(renderer, digest, links)
    assert renderer.email.mode == "compiled"


def test_cards_and_text_blocks_are_rendered_once_and_reused(renderer):
    renderer.render_digest(s.digest(), s.links())
    cards = {k: e.card7 for k, e in renderer.email._entries.items()}
    blocks = dict(renderer.text.blocks._blocks)
    renderer.render_digest(s.digest(email="other@example.org"), s.links())
    assert renderer.email._entries.keys() == cards.keys()
    assert all(renderer.email._entries[k].card7 is v for k, v in cards.items())
    assert renderer.text.blocks._blocks == blocks


def test_email_html_is_7bit_in_short_lines_and_means_the_same(renderer):
    """The rewrite that lets the HTML travel without transfer encoding changes nothing a
    reader sees: the same text and the same elements and attributes as the plain MJML
    output."""
    import lxml.html

    ctx = renderer.email.context(s.digest(), s.links())
    html = renderer.email.html(ctx)
    assert html.isascii() and max(len(line) for line in html.splitlines()) < 998
    assert "29.2&#215; speed increase" in html
    renderer.email.seven_bit = False  # the MJML output as it was before the rewrite
    plain = renderer.email.naive(ctx)
    assert not plain.isascii()
    a, b = lxml.html.fromstring(html), lxml.html.fromstring(plain)
    assert a.text_content() == b.text_content()

    def elements(tree):
        return [(e.tag, dict(e.attrib)) for e in tree.iter()]

    assert elements(a) == elements(b)


def test_non_ascii_in_a_style_keeps_the_html_utf8(tmp_path):
    from digest.render.templates import shipped_templates_dir

    shipped = (shipped_templates_dir() / "email" / "digest.mjml").read_text()
    (tmp_path / "t" / "email").mkdir(parents=True)
    patched = shipped.replace(
        ".card a { text-decoration: none; }",
        '.card a { text-decoration: none; } .why::before { content: "→ "; }',
    )
    assert patched != shipped
    (tmp_path / "t" / "email" / "digest.mjml").write_text(patched)
    r = Renderer(s.config(tmp_path, templates="t"))
    fast = r.render_digest(s.digest(), s.links())
    assert r.email.mode == "compiled" and not r.email.seven_bit
    assert 'content: "→ "' in fast[1] and "29.2× speed" in fast[1]
    assert fast == render_digest_naive(r, s.digest(), s.links())


def test_cached_text_blocks_equal_rendering_each_time(tmp_path):
    """Reused paper blocks give the text a per-subscriber render gives, including when a
    link number changes width (9 -> 10) inside a block, and a paper whose text holds the
    private-use characters the cache uses is rendered each time instead."""
    from digest.models import Match, Paper, Reason
    from digest.render.text import PaperBlocks

    papers = s.seed_papers(20)
    odd = Paper(
        id="x:pua",
        title="Odd \ue000\ue001 title",
        abstract="Text \ue000.",
        url="https://example.org/a",
        pdf_url="https://example.org/b",
    )
    matches = [
        Match(p, "Trending", 1.0 - i / 100, (Reason("trending", "popular"),))
        for i, p in enumerate([odd, *papers])
    ]
    cached = Renderer(s.config(tmp_path))
    fresh = Renderer(s.config(tmp_path))
    for start in range(0, 12, 3):  # shifts which block crosses from [9] to [10]
        chosen = tuple(matches[start : start + 8]) + (matches[0],)
        digest = replace(s.digest(), sections=(TopicSection("Trending", chosen),))
        expected = fresh.render_digest(digest, s.links())[2]
        fresh.text.blocks = PaperBlocks(fresh.text.blocks.template)  # nothing reused
        assert cached.render_digest(digest, s.links())[2] == expected
    assert "Odd \ue000\ue001 title" in expected


def test_user_templates_override_file_by_file(tmp_path):
    user = tmp_path / "mytemplates" / "email"
    user.mkdir(parents=True)
    (user / "card.html").write_text('<div class="card"><h3>{{ m.paper.title }}</h3>MINE</div>')
    r = Renderer(s.config(tmp_path, templates="mytemplates"))
    _, html, text = r.render_digest(s.digest(), s.links())
    assert html.count("MINE") == 11
    assert "Why you got this" not in html
    assert "== Efficient LLMs (4) ==" in text  # the text twin is still the shipped one
    assert r.email.mode == "compiled"


def test_override_with_jinja_in_an_mjml_attribute_falls_back_to_the_same_output(tmp_path):
    from digest.render.templates import shipped_templates_dir

    shipped = (shipped_templates_dir() / "email" / "digest.mjml").read_text()
    (tmp_path / "t" / "email").mkdir(parents=True)
    # mjml computes the layout from the width: a Jinja expression there cannot compile once.
    old = '<mj-body background-color="#f3f4f6" width="640px"'
    assert old in shipped
    patched = shipped.replace(old, '<mj-body background-color="#f3f4f6" width="{{ \'640px\' }}"')
    (tmp_path / "t" / "email" / "digest.mjml").write_text(patched)
    r = Renderer(s.config(tmp_path, templates="t"))
    fast = r.render_digest(s.digest(), s.links())
    assert r.email.mode == "naive"
    assert fast == render_digest_naive(r, s.digest(), s.links())
    assert "max-width:640px" in fast[1]


def test_template_errors_name_the_template(tmp_path):
    (tmp_path / "t" / "email").mkdir(parents=True)
    (tmp_path / "t" / "email" / "card.html").write_text("{{ m.paper.no_such_field }}")
    r = Renderer(s.config(tmp_path, templates="t"))
    with pytest.raises(TemplateError, match="email/card.html"):
        r.render_digest(s.digest(), s.links())
    with pytest.raises(TemplateError, match="does not exist"):
        Renderer(s.config(tmp_path, templates="missing"))


def test_text_twin_wraps_at_72_and_lists_links(rendered):
    _, _, text = rendered
    lines = text.splitlines()
    links_at = lines.index("Links:")
    assert all(len(line) <= 72 for line in lines[:links_at]), [ln for ln in lines if len(ln) > 72]
    refs = lines[links_at + 1 :]
    assert refs[0] == "[1] https://digest.example.org/archive/2026-12-01.html"
    assert all(re.fullmatch(r"\[\d+\] https?://\S+", line) for line in refs)
    assert "   Abstract [2] · PDF [3] · Code [4]" in lines
    assert "-- " in lines
    assert "<script>alert(1)</script>" in text  # plain text: shown as written, not escaped
    assert "&lt;" not in text and "&#" not in text


def test_limits_huge_abstract_title_and_author_list(rendered):
    _, html, _ = rendered
    m = re.search(r'<p class="fg"[^>]*>(Sentence number one[^<]*)</p>', html)
    assert m and len(m.group(1)) <= SNIPPET_CHARS and m.group(1).endswith("here.")
    assert html.count("Author4 Surname4") == 0


def test_snippet_and_author_helpers():
    assert cut("One. Two three four.", 12) == "One. Two…"
    assert (
        cut("We show e.g. that this works well. Then more text follows here.", 45)
        == "We show e.g. that this works well."
    )
    assert cut("x" * 50, 10) == "x" * 9 + "…"
    assert shorten_authors(("A", "B", "C", "D")) == "A, B, C, D"
    assert shorten_authors(tuple("ABCDEFGHIJ")) == "A, B, C, +7"
    assert slugify("Efficient LLMs") == "efficient-llms"
    assert slugify("../../etc/passwd") == "etc-passwd"
    assert re.fullmatch(r"topic-[0-9a-f]{8}", slugify("量子"))
    assert slugify("All").startswith("all-")
    assert topic_slugs(["C++", "C"]) == {
        "C++": "c",
        "C": "c-" + topic_slugs(["C"])["C"][0:0] + __import__("hashlib").sha1(b"C").hexdigest()[:8],
    }


def test_golden_email_and_text(renderer, golden):
    subject, html, text = renderer.render_digest(s.digest(), s.links())  # as sent
    golden("email/digest.html", html)
    golden("email/digest.txt", f"Subject: {subject}\n\n{text}")


def test_import_is_light():
    code = (
        "import sys, digest.render; "
        "print(sorted(m for m in ('mjml', 'feedgen', 'pylatexenc', 'lxml') if m in sys.modules))"
    )
    out = subprocess.run(  # noqa: S603 - our own interpreter, a fixed snippet
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_sections_keep_digest_order_and_skip_empty(renderer):
    tm = s.topic_matches()
    digest = replace(
        s.digest(),
        sections=(TopicSection("Vision", ()), TopicSection("Trending", tuple(tm["Trending"]))),
    )
    _, html, text = renderer.render_digest(digest, s.links())
    assert "Vision" not in text.split("-- ")[0].replace("Efficient LLMs, Vision", "")
    assert 'id="trending"' in html
