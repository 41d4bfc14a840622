"""`digest explain --topic NAME`: how a topic scores today's papers, to tune its query.

Fetches the configured sources (as a run would, without touching the state), scores every
paper for the topic with its min_score and max_papers lifted, and prints each match with
its score and reasons, marking the ones the cut would drop. `--all` lists the papers that
did not match too.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

import click

from digest.models import Match, Paper


def _load_papers(config) -> list[Paper]:
    from digest.clock import Clock
    from digest.sources import FetchContext, fetch_all

    results = fetch_all(config.sources, FetchContext(clock=Clock(), root=config.root))
    papers: list[Paper] = []
    for result in results:
        if result.error:
            click.echo(f"warning: source {result.name!r} failed: {result.error}", err=True)
        papers.extend(result.papers)
    try:
        from digest.normalize import merge_papers
    except ImportError:  # pragma: no cover - older normalize without the merge
        return papers
    return list(merge_papers(papers))


def explain_lines(papers: Sequence[Paper], topic, now, show_all: bool = False) -> list[str]:
    """The report for one topic, as lines (the command prints them; tests read them)."""
    from digest.select import match_topics

    loose = topic.model_copy(update={"min_score": 0.0, "max_papers": None})
    matches: list[Match] = match_topics(papers, [loose], now)[topic.name]
    lines = [f"Topic: {topic.name}"]
    lines.append(
        f"Query: {topic.query}" if topic.query and topic.query.strip() else "Query: (none)"
    )
    if topic.similar_to:
        lines.append(
            f"Similar to ({topic.similarity}, min_similarity "
            f"{topic.min_similarity:g}): " + "; ".join(topic.similar_to)
        )
    if topic.authors:
        lines.append("Authors: " + ", ".join(topic.authors))
    kept = 0
    body = []
    for rank_, m in enumerate(matches, 1):
        note = ""
        if not _author_pinned(m) and m.score < topic.min_score:
            note = f"  [below min_score {topic.min_score:g}: not sent]"
        elif topic.max_papers and kept >= topic.max_papers:
            note = f"  [beyond max_papers {topic.max_papers}: not sent]"
        else:
            kept += 1
        body.append(f"{rank_:>4}. {m.score:6.3f}  {m.paper.title}{note}")
        body.append(f"{'':14}{m.paper.id}")
        body.append(f"{'':14}why: {m.why()}")
    lines.append(
        f"{len(papers)} papers, {len(matches)} match, {kept} kept "
        f"(min_score {topic.min_score:g}, max_papers {topic.max_papers or 'none'})"
    )
    lines.append("")
    lines += body
    if show_all:
        matched = {m.paper.id for m in matches}
        rest = [p for p in papers if p.id not in matched]
        lines.append("")
        lines.append(f"Not matching ({len(rest)}):")
        lines += [f"{'':6}-       {p.title}  ({p.id})" for p in rest]
    return lines


def _author_pinned(m: Match) -> bool:
    return any(r.kind == "author" for r in m.reasons)


@click.command("explain")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="config.yaml (default: ./config.yaml, else the built-in sample config).",
)
@click.option("--topic", "topic_name", required=True, help="The topic to explain.")
@click.option("--all", "show_all", is_flag=True, help="Also list papers that do not match.")
def explain(config_path: str | None, topic_name: str, show_all: bool) -> None:
    """Show how a topic scores the current papers, and why, to tune its query."""
    from digest import config as config_mod
    from digest.clock import Clock
    from digest.errors import DigestError

    try:
        config = config_mod.load(config_path)
    except DigestError as exc:
        raise _click_error(exc) from None
    try:
        topic = config.topic(topic_name)
    except KeyError:
        names = [t.name for t in config.topics]
        close = difflib.get_close_matches(topic_name, names, n=1)
        hint = (
            f"did you mean {close[0]!r}?"
            if close
            else ("defined topics: " + ", ".join(names) if names else "no topics are defined")
        )
        # A mistyped name is a usage error (exit 2), like any bad option value.
        raise click.BadParameter(
            f"no topic named {topic_name!r}; {hint}", param_hint="--topic"
        ) from None
    papers = _load_papers(config)
    try:
        lines = explain_lines(papers, topic, Clock().now(), show_all)
    except DigestError as exc:
        raise _click_error(exc) from None
    click.echo("\n".join(lines))


def _click_error(exc) -> click.ClickException:
    """A DigestError as click reports it, keeping its exit code (2 for a config error)."""
    error = click.ClickException(str(exc))
    error.exit_code = exc.exit_code
    return error
