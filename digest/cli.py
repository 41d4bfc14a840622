"""The `digest` command line. Commands turn library errors into messages and exit codes;
there is no business logic here. Commands other than `run` live in their own modules and
are imported only when used, so `digest --help` starts fast.

Exit codes: 0 success (also "nothing new"), 1 failure, 2 bad config or usage,
3 partial (some source or delivery failed, the rest went out).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from typing import Any

import click

from digest import __version__
from digest.errors import EXIT_FAILURE, EXIT_USAGE, ConfigError, DigestError

# name -> (module:attribute, one-line help). Listed here so --help needs no imports.
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("digest.cli:run_command", "Fetch, select, render and deliver once (for cron)."),
    "sources": ("digest.cli_sources:sources", "List the configured sources; --check fetches each."),
    "explain": ("digest.cli_explain:explain", "Show scores and reasons for a topic's papers."),
    "schedule": ("digest.cli_ops:schedule", "Run on the configured schedule (foreground)."),
    "check": ("digest.cli_ops:check", "Validate config, templates, output folder (--network)."),
    "preview": ("digest.cli_ops:preview", "Render the next digest without recording anything."),
    "status": ("digest.cli_ops:status", "Show the last runs and when the next is due."),
    "unsubscribe": ("digest.cli_mail:unsubscribe", "Unsubscribe an address (or a link token)."),
    "send-test": ("digest.cli_mail:send_test", "Send one sample digest to check SMTP settings."),
    "serve": ("digest.cli_web:serve", "Run the subscribe/manage/unsubscribe web app."),
    "subscribers": ("digest.cli_web:subscribers", "List subscribers (--csv to export)."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if self._available(name)]

    def _available(self, name: str) -> bool:
        module = COMMANDS[name][0].split(":")[0]
        return importlib.util.find_spec(module) is not None

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS or not self._available(name):
            return None
        target, _ = COMMANDS[name]
        module_name, attr = target.split(":")
        command = getattr(importlib.import_module(module_name), attr)
        command.name = name
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="digest")
@click.option("-v", "--verbose", count=True, help="More output; -v shows tracebacks.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log lines as human-readable text or JSON lines.",
)
@click.pass_context
def cli(ctx: click.Context, verbose: int, log_format: str) -> None:
    """Research-paper digests: personalised email and RSS/Atom feeds of new papers.

    Start with `digest run`: with no config.yaml in the current folder it uses the bundled
    sample and writes to ./out. Exit codes: 0 ok, 1 failure, 2 bad config or usage,
    3 partial (a source or a delivery failed, the rest went out).
    """
    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose
    ctx.obj["log_format"] = log_format
    from digest.logs import setup_logging

    setup_logging(verbose=verbose, fmt=log_format)


config_option = click.option(
    "--config",
    "-c",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Path of config.yaml (default: ./config.yaml, else the built-in sample config).",
)


@click.command("run")
@config_option
@click.option("--dry-run", is_flag=True, help="Render into <output>/preview/; record nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON report on stdout.")
@click.pass_context
def run_command(ctx: click.Context, config_path: str | None, dry_run: bool, as_json: bool) -> None:
    """Fetch, select, render and deliver once; made to be run from cron."""
    from digest import config as config_mod
    from digest import pipeline
    from digest.clock import system_clock

    config = config_mod.load(config_path)
    progress = None
    if not as_json and sys.stderr.isatty():
        try:
            from digest.deliver.progress import terminal_progress

            progress = terminal_progress()
        except ImportError:
            progress = None
    try:
        report = pipeline.run(config, system_clock(), dry_run=dry_run, progress=progress)
    finally:
        if progress is not None and hasattr(progress, "close"):
            progress.close()
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=None))
    else:
        _print_report(report, json_logs=ctx.obj.get("log_format") == "json")
    ctx.exit(report.exit_code)


def _print_report(report: Any, json_logs: bool = False) -> None:
    """The human summary on stdout; problems on stderr (as JSON lines with --log-format
    json, so a log collector reads them like every other log line)."""
    import logging

    log = logging.getLogger("digest.run")

    def problem(text: str) -> None:
        if json_logs:
            log.error(text)
        else:
            click.secho(text, fg="yellow", err=True)

    for source in report.sources:
        if source["error"]:
            problem(f"source {source['name']}: FAILED: {source['error']}")
        else:
            click.echo(
                f"source {source['name']}: {source['papers']} papers ({source['seconds']:.2f}s)"
            )
    sent = report.sent
    failed = [d for d in report.deliveries if d.state != "sent"]
    if report.dry_run:
        click.echo(
            f"dry run: {len(sent)} digest(s) rendered into {report.preview_dir}; nothing recorded"
        )
    elif sent:
        click.echo(f"delivered {len(sent)} digest(s):")
        for d in sent:
            where = f" -> {d.files[0]}" if d.files else ""
            click.echo(f"  {d.subscriber} ({d.issue_id}){where}")
    for d in failed:
        problem(f"not delivered to {d.subscriber} ({d.issue_id}): {d.state}: {d.detail}")
    if report.delivery_aborted:
        problem(f"delivery stopped: {report.delivery_aborted}")
        problem("the digests stay pending and go out with the next run")
    if not sent and not failed and not report.delivery_aborted and not report.dry_run:
        reasons = sorted(set(report.skipped.values())) or ["no subscribers"]
        click.echo(f"nothing new to deliver ({'; '.join(reasons)})")
    shown = ("source ", "delivery to ", "delivery: ")
    for error in report.errors:
        if not error.startswith(shown):
            problem(error)
    for note in report.warnings:
        if json_logs:
            log.warning(note)
        else:
            click.secho(f"warning: {note}", fg="yellow", err=True)


def main(argv: list[str] | None = None) -> None:
    """Entry point: errors become a message and an exit code; a traceback only with -v.
    With --log-format json the message is a JSON line too, like every other log line."""
    args = list(sys.argv[1:] if argv is None else argv)
    verbose = "-v" in args or "--verbose" in args or "-vv" in args
    json_logs = "--log-format=json" in args or any(
        a == "--log-format" and b == "json" for a, b in zip(args, args[1:], strict=False)
    )

    def fail(message: str, code: int, hint: str | None = None, kind: str = "error") -> None:
        if json_logs:
            from digest.logs import redact

            line = {"level": "error", "logger": "digest.cli", "message": redact(message)}
            if hint:
                line["hint"] = hint
            click.echo(json.dumps(line, ensure_ascii=False), err=True)
        else:
            click.secho(f"{kind}: {message}", fg="red", err=True)
            if hint:
                click.echo(f"  hint: {hint}", err=True)
        sys.exit(code)

    try:
        code = cli.main(args=argv, prog_name="digest", standalone_mode=False)
        if isinstance(code, int):
            sys.exit(code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        fail("aborted", EXIT_FAILURE)
    except click.ClickException as exc:
        if json_logs:
            fail(exc.format_message(), EXIT_USAGE if isinstance(exc, click.UsageError) else 1)
        exc.show()
        sys.exit(EXIT_USAGE if isinstance(exc, click.UsageError) else exc.exit_code)
    except DigestError as exc:
        if verbose:
            raise
        if json_logs:
            problems = getattr(exc, "problems", [])
            text = exc.message + (" " + "; ".join(problems) if problems else "")
            fail(text, exc.exit_code, exc.hint)
        if isinstance(exc, ConfigError):  # its text lists every problem and the hint
            fail(str(exc), exc.exit_code)
        fail(exc.message, exc.exit_code, exc.hint)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if verbose:
            raise
        fail(
            f"{type(exc).__name__}: {exc}",
            EXIT_FAILURE,
            "run again with -v for the traceback, and please report it",
            kind="internal error",
        )
    sys.exit(0)


if __name__ == "__main__":  # pragma: no cover
    main()
