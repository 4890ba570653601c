"""`tradeops smoke demo` (also `python scripts/smoke_demo_strategies.py`): status probe and paper cycles."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tradeops.cli.kill_switch import config_options, print_status


@click.group()
def smoke() -> None:
    """Smoke checks against the paper environment."""


@smoke.command()
@click.option("--check-disabled", is_flag=True, help="Print `disabled` or `enabled` (and why), exit 0.")
@click.option(
    "--cycles", type=click.IntRange(min=1), default=1, show_default=True, help="Paper cycles to run."
)
@click.option("--strategy", help="Run only this strategy; exit non-zero if it produced no cycle.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@config_options
def demo(
    check_disabled: bool,
    cycles: int,
    strategy: str | None,
    as_json: bool,
    config_path: Path,
    environment: str,
) -> int:
    """Check the scheduler status, or run N paper cycles of the remaining (or the named) strategies."""
    if check_disabled:
        return print_status(config_path, environment, as_json)
    try:
        from tradeops.ops.smoke import run_smoke_cycles
    except ImportError:
        click.echo("error: paper smoke cycles are not available in this build (tradeops.ops.smoke)", err=True)
        return 2
    from tradeops.bootstrap.ops import build_ops_context

    with build_ops_context(config_path, environment) as ctx:
        result = run_smoke_cycles(ctx, cycles, strategy)
    payload = result.to_dict()
    if as_json:
        click.echo(json.dumps(payload, indent=2, sort_keys=True))
    else:
        _print_result(payload)
    return 0 if result.ok else 1


def _print_result(payload: dict[str, object]) -> None:
    verdict = "ok" if payload["ok"] else "FAILED"
    click.echo(f"smoke: {payload['cycles']} cycle(s) on {payload['environment']}: {verdict}")
    if payload["global_override"]:
        click.echo("global override active: no strategy may trade (tradeops kill-switch status)")
    strategies = payload["strategies"]
    assert isinstance(strategies, dict)
    for name, row in strategies.items():
        state = "disabled" if row["disabled"] else f"{row['cycles']} cycle(s)"
        click.echo(
            f"  {name:<18} {state:<12} signals {row['signals']:>4}  orders {row['orders']:>4}  "
            f"fills {row['fills']:>4}  denials {row['denials']:>4}"
        )
