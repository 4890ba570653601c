"""Errors grouped by consequence; the CLI maps each family to an exit code."""

from __future__ import annotations


class TradeopsError(Exception):
    """Base of every error this project raises on purpose."""

    exit_code = 1


class UserInputError(TradeopsError):
    """The user gave a bad flag, file or value. One line, names the fix. Exit 2."""

    exit_code = 2


class ConfigError(UserInputError):
    """The configuration is invalid; `problems` holds every finding (path, line, message)."""

    def __init__(self, message: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


class Fatal(TradeopsError):
    """Stop the process: continuing could trade wrongly or lose data."""

    exit_code = 1


class Temporary(TradeopsError):
    """Retry with backoff (network blip, lock busy)."""


class UnknownOutcome(Temporary):
    """A venue may or may not hold an order: nothing more is sent on its instrument until a lookup
    by client order id says what happened (fail closed)."""


class Skipped(TradeopsError):
    """Skip this cycle (no data yet, warmup)."""


class StrategyFault(TradeopsError):
    """One strategy misbehaved; isolate it, keep the others running."""

    def __init__(self, strategy: str, message: str) -> None:
        super().__init__(f"{strategy}: {message}")
        self.strategy = strategy


class TamperDetected(Fatal):
    """An audit artefact (decision log, override) failed verification."""


class AlreadyExists(UserInputError):
    """Refusing to overwrite an existing artefact. Exit 1 (the operator must decide)."""

    exit_code = 1


class AuditWriteFailed(Fatal):
    """A change took effect but its decision-log entry could not be made durable. Exit 4.

    The message says what is in force and what is not recorded, so an operator never has to guess.
    """

    exit_code = 4
