"""How `tradeops config apply` reports its outcome."""

from __future__ import annotations

import json

import click

from tradeops.ops.config_apply import ConfigApplied

EXIT_UNCONFIRMED = 3


def _shown(value: object) -> str:
    return json.dumps(value) if not isinstance(value, str) else value


def print_applied(outcome: ConfigApplied, *, as_json: bool, wait_seconds: float) -> int:
    """Print what took effect (or why nothing did); the exit code: 0 applied/recorded/unchanged,
    1 refused, 3 not confirmed in time."""
    if as_json:
        click.echo(json.dumps(outcome.to_dict(), indent=2, sort_keys=True))
    else:
        git = outcome.git
        where = f", git {git.commit[:12]}{' (file differs from it)' if git.dirty else ''}" if git else ""
        click.echo(f"config: {outcome.digest[:23]}...{where} [request {outcome.request_id}]")
        message = {
            "applied": f"applied by the running scheduler (pid {outcome.scheduler_pid}) at a cycle boundary:",
            "recorded": "no scheduler running: config_change recorded; the change applies at the next start",
            "unchanged": "the running scheduler already runs this configuration: nothing to apply",
            "refused": "refused, nothing applied (these changes need a restart or are invalid):",
            "unconfirmed": f"handed to the scheduler (pid {outcome.scheduler_pid}), no confirmation within "
            f"{wait_seconds:g} s; it stays pending until the scheduler's next cycle boundary",
        }.get(outcome.status, outcome.status)
        click.echo(message, err=outcome.status in ("refused", "unconfirmed"))
        if outcome.status == "refused":
            for problem in outcome.problems:
                click.echo(f"  {problem}", err=True)
        elif outcome.diff is not None:
            for change in outcome.diff.changes[:50]:
                click.echo(f"  {change.path}: {_shown(change.old)} -> {_shown(change.new)}")
            if len(outcome.diff.changes) > 50:
                click.echo(f"  ... {len(outcome.diff.changes) - 50} more (see --json)")
    if outcome.status == "refused":
        return 1
    return EXIT_UNCONFIRMED if outcome.status == "unconfirmed" else 0
