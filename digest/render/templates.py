"""The Jinja environments: shipped templates, overridable file by file from `config.templates`.

Two environments, on purpose:
- `html_env` renders everything that becomes markup (`.mjml`, `.html`, `.xml`) with autoescape
  ON for every template, including ones built from strings (the compiled email). `|safe` is
  never applied to input; the only Markup passed in is output of these same templates.
- `text_env` renders `.txt` templates (the plain-text twin, feed text summaries) with
  autoescape OFF, because HTML entities would corrupt plain text. Its output only ever goes
  to text/plain bodies and to feedgen text fields (which XML-escape it); it is never inserted
  into HTML. `text_env` refuses to load anything but `.txt` so a misconfigured call cannot
  produce unescaped HTML.
Both use StrictUndefined: a typo in a user's template is an error, not an empty string.
"""

from __future__ import annotations

import textwrap
from functools import lru_cache
from pathlib import Path

import jinja2

import digest
from digest.errors import TemplateError


def shipped_templates_dir() -> Path:
    """`digest/templates` in an installed wheel, the repo's `templates/` in a checkout."""
    package = Path(digest.__file__).resolve().parent
    installed = package / "templates"
    if installed.is_dir():
        return installed
    return package.parent / "templates"


def _loader(user_dir: Path | None) -> jinja2.BaseLoader:
    shipped = jinja2.FileSystemLoader(str(shipped_templates_dir()))
    if user_dir is None:
        return shipped
    if not user_dir.is_dir():
        raise TemplateError(
            f"the templates folder {str(user_dir)!r} does not exist",
            hint="create it (copy the files you want to change from the shipped templates) "
            "or remove the `templates` key from config.yaml",
        )
    return jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(user_dir)), shipped])


class _TextOnlyLoader(jinja2.BaseLoader):
    def __init__(self, inner: jinja2.BaseLoader) -> None:
        self.inner = inner

    def get_source(self, environment, template):  # type: ignore[no-untyped-def]
        if not template.endswith(".txt"):
            raise jinja2.TemplateNotFound(f"{template} (the text environment loads only .txt)")
        return self.inner.get_source(environment, template)


def wrap(
    text: str, width: int = 72, initial: str = "", subsequent: str = "", cache: bool = True
) -> str:
    """Wrap one paragraph for a terminal at `width` columns.

    Paragraphs that recur (a paper's authors and abstract, in every subscriber's text twin)
    come from a bounded cache; pass cache=False for text that never recurs (a line naming
    the subscriber), which would only push useful entries out of it."""
    if cache:
        return _wrap_cached(str(text), width, initial, subsequent)
    return _wrap(str(text), width, initial, subsequent)


def _wrap(text: str, width: int, initial: str, subsequent: str) -> str:
    return textwrap.fill(
        " ".join(text.split()),
        width=width,
        initial_indent=initial,
        subsequent_indent=subsequent,
        break_long_words=True,  # URLs go in the "Links:" list, never through wrap()
        break_on_hyphens=False,
    )


_wrap_cached = lru_cache(maxsize=4096)(_wrap)


def _common(env: jinja2.Environment) -> jinja2.Environment:
    env.filters["wrap"] = wrap
    return env


def html_env(user_dir: Path | None) -> jinja2.Environment:
    return _common(
        jinja2.Environment(
            loader=_loader(user_dir),
            autoescape=True,  # every template, every extension, from_string too
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            auto_reload=False,
        )
    )


def text_env(user_dir: Path | None) -> jinja2.Environment:
    return _common(
        jinja2.Environment(
            loader=_TextOnlyLoader(_loader(user_dir)),
            autoescape=False,  # noqa: S701 - plain text only; see the module docstring
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            auto_reload=False,
        )
    )


def template_error(name: str, exc: Exception) -> TemplateError:
    where = ""
    if isinstance(exc, jinja2.TemplateSyntaxError) and exc.lineno:
        where = f" (line {exc.lineno})"
    return TemplateError(
        f"template {name!r}{where} failed: {exc}",
        hint="check your override of this template in the `templates` folder, or delete it "
        "to use the shipped one",
    )
