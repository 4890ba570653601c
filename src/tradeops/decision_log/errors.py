"""Errors of the decision log, mapped by the CLI to exit codes like every tradeops error."""

from __future__ import annotations

from tradeops.domain.errors import Fatal, Temporary, UserInputError


class LogLockedError(Temporary):
    """Another writer holds the log's lock file (one writer per file)."""


class TornTailError(UserInputError):
    """The log ends in a torn (incomplete or unparsable) line: repair it before appending."""


class LogWriteError(Fatal):
    """Writing or fsyncing the log failed; entries after the last durable seq may be lost."""


class LogMismatchError(UserInputError):
    """The log cannot be appended to with this key or anchor (wrong key, old format, truncated)."""
