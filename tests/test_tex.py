from __future__ import annotations

import json
import time

import pytest

from digest.sources.sample import trending
from digest.tex import tex_to_text


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (r"We need \( O(n^3) \) time", "We need O(n³) time"),
        (r"up to 2.4\times faster", "up to 2.4× faster"),
        (r"a na\"ive approach", "a naïve approach"),
        (r"Schr\"odinger \& Co", "Schrödinger & Co"),
        (r"$\alpha$-divergence", "α-divergence"),
        (r"$x^{2}+y_{i}$", "x²+yᵢ"),
        (r"$A^{\top} B^{-1}$", "Aᵀ B⁻¹"),
        (r"$\mathbb{R}^{n \times d}$", "ℝ^(n×d)"),
        (r"$\mathcal{O}(n\log n)$", "𝒪(n log n)"),
        (r"\emph{good} results", "good results"),
        ("10^{-6} and n^2 steps", "10⁻⁶ and n² steps"),
    ],
)
def test_common_tex_becomes_unicode(source, expected):
    assert tex_to_text(source) == expected


@pytest.mark.parametrize(
    "source",
    [
        "costs $5 and $10",  # currency, not math
        "40% faster; 100% of {braces} kept ~ tilde",
        r"\foo{bar} stays",  # unknown macro
        r"See \cite{x}",  # known but meaningless outside LaTeX
        r"\( \frac{a}{b \)",  # unbalanced
        "$ unclosed",
        "snake_case_1 and x^y",
        "matrix Ain R^{ntimes d} and",  # the seed's backslash-less TeX: left alone
        "",
        "plain title",
    ],
)
def test_what_cannot_be_converted_stays_as_it_was(source):
    assert tex_to_text(source) == source


def test_seed_abstracts_convert_without_losing_text():
    for paper in trending("sample"):
        for value in (paper.title, paper.abstract):
            out = tex_to_text(value)
            assert out
            # Conversion only shortens markup: never drops whole words of prose.
            words = [w for w in value.split() if w.isalpha() and len(w) > 3]
            missing = [w for w in words if w not in out]
            assert len(missing) <= len(words) // 10, (value[:80], missing[:5])
    converted = {tex_to_text(p.abstract) for p in trending("sample")}
    assert any("O(n³)" in a for a in converted)
    assert any("naïve" in a for a in converted)
    assert any("×" in a for a in converted)


def test_odd_input_never_raises():
    for value in [
        "\\",
        "$",
        "$$",
        "\\(",
        "^{",
        "_{}",
        '\\"',
        "{}}{",
        "\\u",
        "\\" * 50,
        "$x$" * 300,
        json.dumps({"a": "\\\\x"}),
    ]:
        assert isinstance(tex_to_text(value), str)


def test_conversion_is_cached_and_fast():
    abstracts = [p.abstract for p in trending("sample")]
    for a in abstracts:
        tex_to_text(a)
    start = time.perf_counter()
    for _ in range(20):
        for a in abstracts:
            tex_to_text(a)
    assert time.perf_counter() - start < 0.05


def test_scripts_on_macros_keep_the_macro():
    # Regression: \alpha_i became \alphaᵢ, which pylatexenc read as one unknown macro.
    assert tex_to_text(r"$\sum_{i=1}^n \alpha_i \leq \beta$").startswith("∑ᵢ₌₁ⁿ αᵢ ≤")
    assert tex_to_text(r"$\alpha^2 + \beta_{ij}$") == "α² + βᵢⱼ"
    assert tex_to_text(r"$\ell_2$") == "ℓ₂"
