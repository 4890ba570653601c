"""`tradeops smoke demo` (also `python scripts/smoke_demo_strategies.py`): status probe and paper cycles."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tradeops.cli.kill_switch import print_status
from tradeops.cli.options import config_options


@click.group()
def smoke() -> None:
    """Smoke checks against the paper environment."""


@smoke.command()
@click.option(
    "--check-disabled",
    is_flag=True,
    help="Print `disabled`/`enabled` as the running scheduler observes it (exit 3: no scheduler running).",
)
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
    from tradeops.bootstrap.ops import build_ops_context
    from tradeops.ops.smoke import run_smoke_cycles

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


@smoke.command("paper-ci")
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("var/paper_smoke_ci"),
    show_default=True,
    help="Where the summary JSON and Markdown go.",
)
@click.option("--cycles", type=click.IntRange(min=1), default=1, show_default=True)
@config_options
def paper_ci(output_dir: Path, cycles: int, config_path: Path, environment: str) -> int:
    """The full paper smoke: every strategy, the security audit, every decision log; exit 1 on any failure."""
    from tradeops.bootstrap.ops import build_ops_context
    from tradeops.ops.paper_smoke_ci import run_paper_smoke_ci

    with build_ops_context(config_path, environment) as ctx:
        result = run_paper_smoke_ci(ctx, output_dir, cycles)
    for name, check in result.checks.items():
        click.echo(f"{name}: {check['status']} ({check['detail']})")
    click.echo(f"summary: {result.summary_path}")
    click.echo(f"markdown: {result.markdown_path}")
    click.echo("paper smoke: ok" if result.ok else f"paper smoke: FAILED ({len(result.failures)} failure(s))")
    return 0 if result.ok else 1
