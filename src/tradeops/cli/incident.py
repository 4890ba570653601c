"""`tradeops incident open|note|close|list|show|bundle|verify`: incident records kept in the decision log."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from tradeops.cli.options import config_option, environment_option
from tradeops.config.load import environment_of
from tradeops.config.models import AppConfig
from tradeops.domain.errors import UserInputError

if TYPE_CHECKING:
    from tradeops.ops_ports import OpsContext

F = TypeVar("F", bound=Callable[..., Any])


def place_options(func: F) -> F:
    func = environment_option("Its decision log also feeds the timeline.")(func)
    return config_option(func)


def _config(config_path: Path, environment: str, *, signing: bool = False) -> AppConfig:
    from tradeops.config.load import load_config

    if not config_path.is_file():
        raise UserInputError(f"--config {config_path}: no such file; pass the path of core.yaml")
    cfg = load_config(config_path)
    environment_of(cfg, environment, config_path)
    if signing and cfg.environments[environment].mode == "paper":
        # Same rule as the paper engine: decision_log.key_file, created only for logs without entries.
        from tradeops.bootstrap.decision_log_wiring import paper_signing_key

        paper_signing_key(cfg, environment)
    return cfg


def _context(config_path: Path, environment: str, *, signing: bool = False) -> OpsContext:
    """The incident context (no state store opened): the doors below map onto
    `tradeops.ops.incident_control`."""
    from tradeops.bootstrap.incident_records import incident_context

    return incident_context(_config(config_path, environment, signing=signing), config_path, environment)


def _echo(lines: list[str]) -> None:
    for line in lines:
        click.echo(line)


@click.group("incident")
def incident() -> None:
    """Open, annotate, close and review incidents (each change is a signed decision-log entry)."""


@incident.command("open")
@click.option("--title", required=True, help="What is wrong, in one line.")
@click.option(
    "--severity",
    required=True,
    type=click.Choice(["critical", "high", "medium", "low"]),
    help="How bad it is.",
)
@click.option(
    "--ticket", help="Ticket id (JIRA/ServiceNow); becomes the incident id [default: INC-YYYYMMDD-NNN]."
)
@click.option("--opened-by", default="operator", show_default=True, help="Person or team opening it.")
@place_options
def open_command(
    title: str, severity: str, ticket: str | None, opened_by: str, config_path: Path, environment: str
) -> int:
    """Open an incident; exit 1 when one with this id is already open."""
    from tradeops.ops.control_common import Door
    from tradeops.ops.incident_control import OpenIncident, open_

    command = OpenIncident(title, severity, Door("cli", opened_by), ticket, opened_by)
    with _context(config_path, environment, signing=True) as ctx:
        _echo(open_(ctx, command).lines())
    return 0


@incident.command("note")
@click.argument("incident_id", metavar="ID")
@click.option("--text", required=True, help="The note (findings, actions, post-mortem remarks).")
@click.option("--by", default="operator", show_default=True, help="Who writes it.")
@place_options
def note(incident_id: str, text: str, by: str, config_path: Path, environment: str) -> int:
    """Add a note to an incident (open or closed)."""
    from tradeops.ops.control_common import Door
    from tradeops.ops.incident_control import NoteIncident
    from tradeops.ops.incident_control import note as note_incident

    with _context(config_path, environment, signing=True) as ctx:
        _echo(note_incident(ctx, NoteIncident(incident_id, text, Door("cli", by), by)).lines())
    return 0


@incident.command("close")
@click.argument("incident_id", metavar="ID")
@click.option(
    "--status",
    required=True,
    type=click.Choice(["restored", "mitigated", "false_alarm"]),
    help="How it ended.",
)
@click.option("--summary", default="", help="One paragraph: cause, impact, what was done.")
@click.option(
    "--closed-by",
    "--by",
    "by",
    default=None,
    help="Who closes it (default: the OS user); `--by` is the older spelling.",
)
@click.option("--no-bundle", is_flag=True, help="Do not build and seal the incident bundle.")
@place_options
def close(
    incident_id: str,
    status: str,
    summary: str,
    by: str | None,
    no_bundle: bool,
    config_path: Path,
    environment: str,
) -> int:
    """Close an open incident and seal its bundle; exit 1 when it is already closed."""
    import getpass

    from tradeops.cli.incident_bundle import print_built
    from tradeops.ops.control_common import Door
    from tradeops.ops.incident_control import CloseIncident
    from tradeops.ops.incident_control import close as close_incident

    if by is None:
        by = getpass.getuser()
    elif not by.strip():
        raise click.BadParameter(
            "must name who closes the incident, e.g. --closed-by l2-ops", param_hint="--closed-by"
        )

    command = CloseIncident(incident_id, status, Door("cli", by), summary, by)
    with _context(config_path, environment, signing=True) as ctx:
        closed = close_incident(ctx, command)
        _echo(closed.lines())
        if not no_bundle:
            print_built(ctx, closed.incident.id, None)
    return 0


@incident.command("bundle")
@click.argument("incident_id", metavar="ID")
@click.option("--prometheus-url", default=None, help="Where the snapshots come from (default: the config's).")
@place_options
def bundle(incident_id: str, prometheus_url: str | None, config_path: Path, environment: str) -> int:
    """Collect the incident's artefacts into logs/incidents/ID/ and seal the manifest."""
    from tradeops.cli.incident_bundle import print_built

    with _context(config_path, environment, signing=True) as ctx:
        print_built(ctx, incident_id, prometheus_url)
    return 0


@incident.command("verify")
@click.argument("incident_id", metavar="ID")
@place_options
def verify(incident_id: str, config_path: Path, environment: str) -> int:
    """Exit 0 when every bundled file matches its sealed manifest; 1 listing each difference."""
    from tradeops.cli.incident_bundle import print_verified

    with _context(config_path, environment, signing=True) as ctx:
        return print_verified(ctx, incident_id)


@incident.command("list")
@click.option("--open", "open_only", is_flag=True, help="Only incidents still open.")
@click.option("--json", "as_json", is_flag=True, help="One JSON array instead of a table.")
@place_options
def list_command(open_only: bool, as_json: bool, config_path: Path, environment: str) -> int:
    """List incidents from the operations decision log, oldest first."""
    from tradeops.ops.incident_control import ListIncidents, list_all

    with _context(config_path, environment) as ctx:
        found = list_all(ctx, ListIncidents(open_only))
    if as_json:
        click.echo(json.dumps(found.to_json(), indent=2, ensure_ascii=False))
    else:
        _echo(found.lines())
    return 0


@incident.command("show")
@click.argument("incident_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="The machine record instead of the Markdown one.")
@place_options
def show(incident_id: str, as_json: bool, config_path: Path, environment: str) -> int:
    """Rebuild an incident from the decision logs, refresh its records and print it."""
    from tradeops.ops.incident_control import ShowIncident
    from tradeops.ops.incident_control import show as show_incident

    with _context(config_path, environment) as ctx:
        shown = show_incident(ctx, ShowIncident(incident_id, refresh=True))
    if as_json:
        click.echo(json.dumps(shown.to_json(), indent=2, ensure_ascii=False))
    else:
        click.echo(shown.markdown(), nl=False)
    return 0
