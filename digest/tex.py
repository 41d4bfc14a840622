"""TeX fragments in titles and abstracts -> readable Unicode text.

Scraped abstracts mix prose with bits of LaTeX (`\\( O(n^3) \\)`, `2.4\\times`, `na\\"ive`).
Feeding a whole abstract to a LaTeX parser is unsafe: `%` starts a comment (it would eat
"40% faster ..."), `~` and braces vanish. So only what is recognisably TeX is converted:
math spans (`\\(...\\)`, `\\[...\\]`, `$$...$$`, `$...$`) and, outside them, known macros,
accents and escaped symbols. Anything not understood is left exactly as it was: text is
never dropped and conversion never raises.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

# Cheap pre-check: most titles carry no TeX at all and skip the regexes.
_TEXY = re.compile(r"[\\$^]")

_MATH = re.compile(
    r"\\\((?P<a>.+?)\\\)"  # \( ... \)
    r"|\\\[(?P<b>.+?)\\\]"  # \[ ... \]
    r"|\$\$(?P<c>[^$]+?)\$\$"  # $$ ... $$
    # $...$: no space just inside the dollars and no digit right after the closing one,
    # so "costs $5 and $10" stays prose.
    r"|(?<![\\$\w])\$(?P<d>[^\s$](?:[^$]{0,200}?[^\s$\\])?)\$(?![\d$])",
    re.DOTALL,
)
# Outside math: \macro, \macro{arg}, accents (\"o, \"{o}, \'{\i}) and escaped symbols.
_TEXT_MACRO = re.compile(
    r"\\(?P<acc>[\"'`^~=.])\s*(?P<acc_arg>\{\\?[A-Za-z]\}|\\[ij](?![A-Za-z])|[A-Za-z])"
    r"|\\(?P<acc2>[uvHckbdr])(?:\{(?P<acc2_arg>\\?[A-Za-z])\}|\s+(?P<acc2_bare>[A-Za-z]))"
    r"|\\(?P<esc>[&%$#_{}])"
    r"|\\(?P<name>[A-Za-z]+)(?P<arg>\{[^{}\\]*\})?"
)
_SUP_GROUP = re.compile(r"\^\{(?P<g>[^{}]*)\}|\^(?P<c>\\[A-Za-z]+|[A-Za-z0-9+\-*])")
_SUB_GROUP = re.compile(r"_\{(?P<g>[^{}]*)\}|_(?P<c>\\[A-Za-z]+|[A-Za-z0-9+\-*])")
# Outside math only unambiguous superscripts: n^3, 10^{-6}. Underscores stay (snake_case).
_PROSE_SUP = re.compile(r"(?<=[\w)\]])\^(?:\{(?P<g>[^{}\\]*)\}|(?P<c>\d+)(?![\w.]))")
_SPACES = re.compile(r"[ \t\u00a0]{2,}")

_SUP = dict(
    zip(
        "0123456789+-=()abcdefghijklmnoprstuvwxyzABDEGHIJKLMNOPRTUVWnTαβγδεθιφχ*′",
        "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁⱽᵂⁿᵀᵅᵝᵞᵟᵋᶿᶥᶲᵡ*′",
        strict=True,
    )
)
_SUB = dict(
    zip(
        "0123456789+-=()aehijklmnoprstuvxβγρφχ",
        "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵪ",
        strict=True,
    )
)
_MATH_SYMBOLS = {"top": "T", "intercal": "T", "prime": "′", "ast": "*", "star": "*"}
# Macros with one argument that are safe to unwrap outside math (\cite{x} is not: it would
# become "<cit.>").
_FORMAT_1ARG = frozenset(
    [
        "emph",
        "textbf",
        "textit",
        "texttt",
        "textsc",
        "textrm",
        "textsf",
        "text",
        "mathbb",
        "mathcal",
        "mathrm",
        "mathbf",
        "mathit",
        "mathsf",
        "mathtt",
        "mathfrak",
        "boldsymbol",
        "underline",
    ]
)
_OPERATORS = re.compile(
    r"\\(log|ln|exp|sin|cos|tan|max|min|arg|det|lim|sup|inf|Pr|dim)(?![A-Za-z])"
)


@lru_cache(maxsize=1)
def _converter():
    from pylatexenc.latex2text import LatexNodes2Text, get_default_latex_context_db

    # pylatexenc logs a warning per macro it cannot expand; we keep the source text instead.
    logging.getLogger("pylatexenc").setLevel(logging.ERROR)
    db = get_default_latex_context_db()
    return LatexNodes2Text(math_mode="text", strict_latex_spaces="based-on-source"), db


def _latex(fragment: str) -> str | None:
    """pylatexenc on a small fragment; None when it fails or would lose the text."""
    conv, _ = _converter()
    try:
        out = conv.latex_to_text(fragment)
    except Exception:  # noqa: BLE001 - a parser hiccup must not break a digest
        return None
    if "%s" in out:  # a macro whose arguments were missing
        return None
    out = out.replace("\u00a0", " ")
    return out if out.strip() or not fragment.strip() else None


def _known(name: str) -> bool:
    _, db = _converter()
    return db.get_macro_spec(name) is not None


@lru_cache(maxsize=16384)
def tex_to_text(value: str) -> str:
    """Convert the TeX in `value` to Unicode text; leave everything else untouched."""
    if not value or not _TEXY.search(value):
        return value
    try:
        out = _MATH.sub(_math_span, value)
        out = _TEXT_MACRO.sub(_text_macro, out)
        out = _PROSE_SUP.sub(_prose_sup, out)
    except Exception:  # noqa: BLE001 - never crash on odd input: show it as it came
        return value
    return out


def _math_span(m: re.Match[str]) -> str:
    body = next(g for g in m.group("a", "b", "c", "d") if g is not None)
    text = math_to_text(body)
    return text if text is not None else m.group(0)


def math_to_text(body: str) -> str | None:
    """One math formula (without delimiters) -> text, or None when it cannot be converted."""
    if body.count("{") != body.count("}"):
        return None
    src = re.sub(r"(?<!\\)%", r"\\%", body)  # a bare % is a percent sign, not a comment
    src = _OPERATORS.sub(r" \1 ", src)  # \log -> " log ": pylatexenc glues it to its neighbours
    # \alpha_i -> \alpha{}_i: once _i becomes the letter ᵢ, pylatexenc would read \alphaᵢ as
    # one unknown macro and drop it.
    src = re.sub(r"(\\[A-Za-z]+)(?=\s*[_^])", r"\1{}", src)
    src = _scripts(src, _SUP_GROUP, _SUP, "^")
    src = _scripts(src, _SUB_GROUP, _SUB, "_")
    text = _latex(src)
    if text is None:
        return None
    return _SPACES.sub(" ", text).strip()


def _scripts(src: str, pattern: re.Pattern[str], table: dict[str, str], mark: str) -> str:
    def repl(m: re.Match[str]) -> str:
        raw = m.group("g") if m.group("g") is not None else m.group("c")
        if raw.startswith("\\") and raw[1:] in _MATH_SYMBOLS:
            inner = _MATH_SYMBOLS[raw[1:]]
        else:
            converted = _latex(raw) if "\\" in raw else raw
            if converted is None:
                return m.group(0)
            inner = converted.replace(" ", "")
        if inner and all(ch in table for ch in inner):
            return "".join(table[ch] for ch in inner)
        # Not expressible in Unicode scripts: keep it readable, in plain notation.
        inner = inner or raw
        return f"{mark}{inner}" if len(inner) == 1 else f"{mark}({inner})"

    return pattern.sub(repl, src)


def _text_macro(m: re.Match[str]) -> str:
    if m.group("esc"):
        return m.group("esc")
    if m.group("name"):
        name = m.group("name")
        if not _known(name) or (m.group("arg") is not None and name not in _FORMAT_1ARG):
            return m.group(0)
        converted = _latex(m.group(0))
        return converted if converted is not None else m.group(0)
    converted = _latex(m.group(0))
    return converted if converted else m.group(0)


def _prose_sup(m: re.Match[str]) -> str:
    inner = m.group("g") if m.group("g") is not None else m.group("c")
    if inner and all(ch in _SUP for ch in inner):
        return "".join(_SUP[ch] for ch in inner)
    return m.group(0)
