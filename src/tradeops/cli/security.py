"""`tradeops security`: the security baseline audit (also `python scripts/audit_security_baseline.py`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from tradeops.cli.options import config_option

DEFAULT_REPORT = Path("audit/security/security_baseline.json")


@click.group()
def security() -> None:
    """Security baseline: mTLS material, token coverage, decision-log key."""


@security.command()
@config_option
@click.option("--print", "print_report", is_flag=True, help="Print the full report, indented, on stdout.")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as one compact JSON line.")
@click.option(
    "--json-output",
    type=click.Path(path_type=Path),
    default=DEFAULT_REPORT,
    show_default=True,
    help="Where the report is written (atomically).",
)
@click.option("--pretty", is_flag=True, help="Accepted for compatibility: the report is always indented.")
@click.option("--fail-on-warning", is_flag=True, help="Exit 1 on warnings too.")
@click.option("--fail-on-error", is_flag=True, help="Accepted for compatibility: errors always exit 1.")
@click.option("--warn-expiring-days", type=click.IntRange(min=0), default=30, show_default=True)
@click.option(
    "--scheduler-required-scope",
    "scheduler_scopes",
    multiple=True,
    help="Scope the scheduler needs, in addition to runtime.schedule.read (default: + write).",
)
@click.option(
    "--metrics-required-scope",
    "metrics_scopes",
    multiple=True,
    help="Scope the metrics reader needs (default: metrics.read).",
)
def audit(
    config_path: Path,
    print_report: bool,
    as_json: bool,
    json_output: Path,
    pretty: bool,
    fail_on_warning: bool,
    fail_on_error: bool,
    warn_expiring_days: int,
    scheduler_scopes: tuple[str, ...],
    metrics_scopes: tuple[str, ...],
) -> int:
    """Audit the control API's security baseline; exits 1 when the status is error."""
    from tradeops.config.load import load_config
    from tradeops.fsutil import atomic_write_text
    from tradeops.security.audit import DEFAULT_METRICS_SCOPES, run_security_audit

    del fail_on_error  # an error status always fails: the runbook operator must see it
    cfg = load_config(config_path)
    report = run_security_audit(
        cfg,
        config_path=config_path,
        required_scheduler_scopes=_split(scheduler_scopes),
        metrics_scopes=_split(metrics_scopes) or DEFAULT_METRICS_SCOPES,
        warn_expiring_days=warn_expiring_days,
    )
    del pretty  # the written and printed report is always indented
    payload = report.to_dict()
    text = json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False)
    atomic_write_text(json_output, text + "\n")
    if as_json:
        click.echo(json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False))
    elif print_report:
        click.echo(text)
    # The human summary: on stdout by default, on stderr when stdout carries the report.
    to_stderr = as_json or print_report
    for message in report.errors:
        click.echo(f"error: {message}", err=True)
    for message in report.warnings:
        click.echo(f"warning: {message}", err=to_stderr)
    click.echo(
        f"security audit: status={report.status} ({len(report.errors)} errors, "
        f"{len(report.warnings)} warnings); full report: {json_output}",
        err=to_stderr,
    )
    if report.status == "error" or (fail_on_warning and report.status == "warning"):
        return 1
    return 0


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    """Repeatable flags that may also hold comma-separated lists."""
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


@security.command("hash-token")
def hash_token() -> int:
    """Read a token secret from stdin; print the `hash: sha256:<hex>` value for core.yaml."""
    from tradeops.domain.errors import UserInputError
    from tradeops.security.tokens import hash_secret

    secret = sys.stdin.readline().strip()
    if not secret:
        raise UserInputError('hash-token: no secret on stdin; pipe it in, e.g. `printf %s "$TOKEN" | ...`')
    click.echo(hash_secret(secret))
    return 0
