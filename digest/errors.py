"""One error hierarchy. Every error carries a hint that tells the user what to do next;
the CLI turns them into a message and an exit code (a traceback only with -v)."""

from __future__ import annotations

# Exit codes, documented in the README.
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3


class DigestError(Exception):
    """Base class: a problem the user can act on."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class ConfigError(DigestError):
    """config.yaml is missing, unreadable or invalid. `problems` lists every one found."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, problems: list[str] | None = None, hint: str | None = None):
        super().__init__(message, hint)
        self.problems = problems or []

    def __str__(self) -> str:
        lines = [self.message]
        lines += [f"  - {p}" for p in self.problems]
        if self.hint:
            lines.append(f"hint: {self.hint}")
        return "\n".join(lines)


class SourceError(DigestError):
    """One source could not be fetched or parsed. Fails that source, never the run."""

    def __init__(self, source: str, message: str, hint: str | None = None) -> None:
        super().__init__(f"source {source!r}: {message}", hint)
        self.source = source
        self.reason = message


class TemplateError(DigestError):
    """A template (shipped or user override) failed to render or compile."""


class DeliveryError(DigestError):
    """A digest could not be delivered."""


class StateError(DigestError):
    """The state database or the output folder cannot be used."""


class LockedError(DigestError):
    """Another run holds the lock on the state."""

    exit_code = EXIT_FAILURE
