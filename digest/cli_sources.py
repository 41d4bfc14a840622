"""`digest sources`: list the configured sources; with --check, fetch each once.

The check records nothing: no state database is opened, so no seen ids, no HTTP cache.
"""

from __future__ import annotations

import click

from digest.clock import system_clock
from digest.config import load
from digest.errors import EXIT_FAILURE, DigestError
from digest.sources import FetchContext, fetch_all
from digest.sources.arxiv_feed import feed_url


class _Failure(click.ClickException):
    """A DigestError as a click message, keeping its exit code (a config error is 2)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.exit_code = code  # type: ignore[misc]  # click declares it on the class


def describe(source) -> str:
    """Where a source reads from: its URL (the default endpoint if none is set) or path."""
    if source.type == "sample":
        return f"bundled sample ({source.dataset})"
    if source.type == "file":
        return source.path
    if source.type == "arxiv-feed":
        return feed_url(source)
    if source.type == "arxiv":
        from digest.sources.arxiv import DEFAULT_URL

        return f"{source.url or DEFAULT_URL} query={source.query}"
    if source.type == "huggingface":
        from digest.sources.huggingface import DEFAULT_URL

        return source.url or DEFAULT_URL
    return getattr(source, "url", None) or ""


@click.command("sources")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="The config file (default: ./config.yaml, else the built-in default).",
)
@click.option("--check", is_flag=True, help="Fetch each enabled source once and report.")
def sources(config_path: str | None, check: bool) -> None:
    """List the configured paper sources; --check fetches each once (records nothing)."""
    try:
        config = load(config_path)
    except DigestError as exc:
        raise _Failure(str(exc), exc.exit_code) from None
    width = max((len(s.name) for s in config.sources), default=4)
    for s in config.sources:
        state = "" if s.enabled else "  (disabled)"
        click.echo(f"{s.name:<{width}}  {s.type:<11}  {describe(s)}{state}")
    if not check:
        return
    click.echo("")
    ctx = FetchContext(
        clock=system_clock(), conn=None, known_ids=lambda _source: set(), root=config.root
    )
    try:
        results = fetch_all(config.sources, ctx)  # in parallel, reported in config order
    finally:
        if ctx.http is not None:
            ctx.http.close()
    failed = 0
    for result in results:
        if result.ok:
            n = len(result.papers)
            click.echo(
                f"{result.name:<{width}}  ok      {n} paper{'s' if n != 1 else ''} "
                f"in {result.seconds:.2f} s"
            )
        else:
            failed += 1
            click.echo(
                f"{result.name:<{width}}  FAILED  after {result.seconds:.2f} s: {result.error}"
            )
    if failed:
        click.get_current_context().exit(EXIT_FAILURE)
