"""`tradeops alerts`: validate the alerting artefacts; silence, unsilence and list Stage4 silences."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from tradeops.cli.options import config_option, config_options

URL_ENV = "TRADEOPS_ALERTMANAGER_URL"


def _url_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--alertmanager-url",
        envvar=URL_ENV,
        show_envvar=True,
        help="Alertmanager base URL (default: env, then observability.alertmanager.url).",
    )(command)


def _resolve_url(flag_or_env: str | None, configured: str | None) -> str:
    from tradeops.domain.errors import UserInputError

    url = flag_or_env or configured
    if not url:
        raise UserInputError(
            f"no Alertmanager URL: pass --alertmanager-url, set {URL_ENV} or observability.alertmanager.url"
        )
    return url


@click.group("alerts")
def alerts() -> None:
    """Prometheus alert rules and Alertmanager silences for the Stage4 runtime."""


@alerts.command()
@click.option(
    "--root",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("."),
    show_default=True,
    help="Repository root holding deploy/ and .github/.",
)
def validate(root: Path) -> int:
    """Check rules (promtool), rule tests, configs, dashboard and workflow; exit 1 on the first problem."""
    from tradeops.observability.validate import validate_all

    for result in validate_all(root.resolve()):
        if not result.ok:
            click.echo(f"FAIL  {result.name}")
            click.echo(f"error: {result.problems[0]}", err=True)
            for line in result.problems[1:]:
                click.echo(f"      {line}", err=True)
            return 1
        click.echo(f"ok    {result.name}")
        for note in result.notes:
            click.echo(f"      {note}")
    return 0


@alerts.command()
@_url_option
@click.option("--duration", help="How long the silence lasts: 30m, 2h, 1d (default: config).")
@click.option("--ticket", required=True, help="Incident or change ticket, e.g. INC-42.")
@click.option("--created-by", required=True, help="Team or person the silence is for.")
@click.option(
    "--matcher",
    "matchers",
    multiple=True,
    help="Extra label matcher k=v (or !=, =~, !~); replaces the configured one for the same label.",
)
@click.option("--comment", help="Why (stored in Alertmanager after the ticket).")
@click.option("--json", "as_json", is_flag=True, help="Print the silence as JSON.")
@config_options
def silence(
    alertmanager_url: str | None,
    duration: str | None,
    ticket: str,
    created_by: str,
    matchers: tuple[str, ...],
    comment: str | None,
    as_json: bool,
    config_path: Path,
    environment: str,
) -> int:
    """Silence the Stage4 alerts (stage4_matchers from the config) and log it in the decision log."""
    from tradeops.bootstrap.ops import build_ops_context
    from tradeops.config.load import load_config
    from tradeops.domain.errors import UserInputError
    from tradeops.observability.durations import parse_duration
    from tradeops.observability.silences import stage4_matchers
    from tradeops.ops.alerting import silence_stage4_alerts

    # Every flag is checked before anything is created (key, state store, silence).
    settings = load_config(config_path).observability.alertmanager
    url = _resolve_url(alertmanager_url, settings.url)
    parse_duration(duration or settings.default_silence_duration)
    stage4_matchers(settings.stage4_matchers, matchers)
    for flag, given in (("--ticket", ticket), ("--created-by", created_by)):
        if not given.strip():
            raise UserInputError(f"{flag} must not be blank")
    with build_ops_context(config_path, environment) as ctx:
        cfg = ctx.cfg
        result, _entry = silence_stage4_alerts(
            ctx,
            url=url,
            duration=duration,
            ticket=ticket,
            created_by=created_by,
            matchers=matchers,
            comment=comment,
        )
    log_path = cfg.decision_log.operations_log
    if as_json:
        click.echo(json.dumps({**result.to_dict(), "decision_log": log_path}, indent=2, sort_keys=True))
        return 0
    click.echo(f"silence {result.silence_id}")
    click.echo(f"  state {result.state}, expires {result.ends_at} ({result.duration})")
    click.echo(f"  matchers {', '.join(result.matchers)}; ticket {result.ticket}; by {result.created_by}")
    click.echo(f"  recorded in {log_path} (kind alert_silence, status silenced)")
    return 0


@alerts.command()
@_url_option
@click.option("--id", "silence_id", required=True, help="Silence id printed by `tradeops alerts silence`.")
@click.option("--json", "as_json", is_flag=True, help="Print the expired silence as JSON.")
@config_options
def unsilence(
    alertmanager_url: str | None, silence_id: str, as_json: bool, config_path: Path, environment: str
) -> int:
    """Expire a silence now (alerts notify again) and log it in the decision log."""
    from tradeops.bootstrap.ops import build_ops_context
    from tradeops.config.load import load_config
    from tradeops.ops.alerting import unsilence_alerts

    url = _resolve_url(alertmanager_url, load_config(config_path).observability.alertmanager.url)
    with build_ops_context(config_path, environment) as ctx:
        outcome = unsilence_alerts(ctx, url=url, silence_id=silence_id, expired_by=os.environ.get("USER", ""))
    after = outcome["after"]
    if as_json:
        click.echo(json.dumps(after, indent=2, sort_keys=True))
    else:
        state = (after.get("status") or {}).get("state", "?")
        click.echo(f"silence {silence_id}: {state} at {after.get('endsAt', '?')}")
    return 0


@alerts.command("silences")
@_url_option
@click.option("--all", "show_all", is_flag=True, help="Include expired silences.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON rows.")
@config_option
def list_silences(alertmanager_url: str | None, show_all: bool, as_json: bool, config_path: Path) -> int:
    """List silences (active and pending only unless --all)."""
    from tradeops.bootstrap.ops import open_alertmanager
    from tradeops.config.load import load_config
    from tradeops.observability.silences import silence_rows

    url = _resolve_url(alertmanager_url, load_config(config_path).observability.alertmanager.url)
    with open_alertmanager(url) as client:
        rows = silence_rows(client.silences(), active_only=not show_all)
    if as_json:
        click.echo(json.dumps(rows, indent=2, sort_keys=True))
        return 0
    if not rows:
        click.echo("no active silences" if not show_all else "no silences")
    for row in rows:
        click.echo(
            f"{row['id']}  {row['state']:<8} until {row['ends_at']} {row['matchers']} by {row['created_by']}"
        )
        if row["comment"]:
            click.echo(f"    {row['comment']}")
    return 0


@alerts.command("run-job")
@click.option(
    "--workflow",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("deploy/ci/github_actions_stage4_multi_strategy.yml"),
    show_default=True,
)
@click.option("--job", "job_name", default="validate_alerts", show_default=True)
@click.option(
    "--input",
    "inputs",
    multiple=True,
    help="workflow_dispatch input NAME=VALUE, e.g. mode=silence (repeatable).",
)
def run_job_command(workflow: Path, job_name: str, inputs: tuple[str, ...]) -> int:
    """Run a workflow job here, as GitHub would (secrets come from env vars of the same name)."""
    from tradeops.domain.errors import UserInputError
    from tradeops.observability.workflow_runner import run_job

    given: dict[str, str] = {}
    for text in inputs:
        name, found, value = text.partition("=")
        if not found or not name.strip():
            raise UserInputError(f"--input {text!r}: use NAME=VALUE, e.g. mode=silence")
        given[name.strip()] = value
    if not workflow.is_file():
        shipped = Path(__file__).resolve().parents[3] / workflow  # outside the checkout: the installed copy
        if workflow.is_absolute() or not shipped.is_file():
            raise UserInputError(f"--workflow {workflow}: no such file (run from the repository root)")
        workflow = shipped
    import time

    log_path = Path("logs/workflow_jobs") / f"{job_name}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as job_log:  # kept for the incident bundle

        def echo(text: str) -> None:
            click.echo(text)
            job_log.write(text + "\n")
            job_log.flush()

        code, outcomes = run_job(workflow, job_name, given, cwd=Path.cwd(), echo=echo)
        ran = sum(1 for o in outcomes if o.status == "ran")
        echo(f"job {job_name}: {'ok' if code == 0 else f'failed (exit {code})'}, {ran} step(s) run")
    click.echo(f"job log: {log_path}")
    return code
