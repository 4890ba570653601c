"""`tradeops certs`: the local CA, server and client certificates of the control API's mTLS."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from tradeops.cli.options import config_path_option

DEFAULT_CLIENT = "operator"


def _config_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return config_path_option("Config whose control_api.tls names the files.")(command)


def _days_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--days", type=click.IntRange(min=1), default=365, show_default=True, help="Validity in days."
    )(command)


def _layout(config_path: Path) -> Any:
    from tradeops.config.load import load_config
    from tradeops.security.certs import TlsLayout

    return TlsLayout.from_config(load_config(config_path).control_api.tls)


@click.group()
def certs() -> None:
    """Create, rotate and inspect the control API's certificates (files written with mode 600)."""


@certs.command()
@_config_option
@_days_option
@click.option("--ca-days", type=click.IntRange(min=1), default=3650, show_default=True)
@click.option("--client", "client_name", default=DEFAULT_CLIENT, show_default=True, help="First client.")
@click.option(
    "--san", "sans", multiple=True, help="Server name or IP (repeatable; default 127.0.0.1, localhost)."
)
@click.option("--force", is_flag=True, help="Replace existing files.")
def init(
    config_path: Path, days: int, ca_days: int, client_name: str, sans: tuple[str, ...], force: bool
) -> int:
    """Create a CA, a server certificate and a first client certificate."""
    from tradeops.security import certs as lib

    layout = _layout(config_path)
    client_cert, client_key = layout.client(client_name)
    if not force:
        targets = (
            layout.ca_cert,
            layout.ca_key,
            layout.server_cert,
            layout.server_key,
            client_cert,
            client_key,
        )
        existing = [str(p) for p in targets if p.exists()]
        if existing:
            from tradeops.domain.errors import AlreadyExists

            raise AlreadyExists(f"{', '.join(existing)} already exist(s); pass --force to replace")
    ca = lib.issue_ca(days=ca_days)
    server = lib.issue_server(ca, sans=sans or lib.DEFAULT_SANS, days=days)
    client = lib.issue_client(ca, client_name, days=days)
    lib.write_issued(ca, layout.ca_cert, layout.ca_key, force=True)
    lib.write_issued(server, layout.server_cert, layout.server_key, force=True)
    lib.write_issued(client, client_cert, client_key, force=True)
    for path in (layout.ca_cert, layout.server_cert, client_cert):
        click.echo(f"wrote {path} (+ key, mode 600)")
    return 0


@certs.command("issue-client")
@click.argument("name")
@_config_option
@_days_option
@click.option("--force", is_flag=True, help="Replace an existing certificate of that name.")
def issue_client(name: str, config_path: Path, days: int, force: bool) -> int:
    """Issue a client certificate NAME (its subject is recorded with every API write)."""
    from tradeops.security import certs as lib

    layout = _layout(config_path)
    cert_path, key_path = layout.client(name)
    ca = lib.load_issued(layout.ca_cert, layout.ca_key)
    lib.write_issued(lib.issue_client(ca, name, days=days), cert_path, key_path, force=force)
    click.echo(f"wrote {cert_path} and {key_path} (mode 600)")
    return 0


@certs.command()
@_config_option
@_days_option
@click.option("--ca", "new_ca", is_flag=True, help="Also replace the CA (every client must be re-issued).")
@click.option("--ca-days", type=click.IntRange(min=1), default=3650, show_default=True)
@click.option("--san", "sans", multiple=True, help="Server name or IP (default: keep the current ones).")
def rotate(config_path: Path, days: int, new_ca: bool, ca_days: int, sans: tuple[str, ...]) -> int:
    """Re-issue the server certificate (and with --ca the CA); old files are kept as *.bak."""
    from tradeops.security import certs as lib

    layout = _layout(config_path)
    old_server = lib.load_certificate(layout.server_cert) if layout.server_cert.exists() else None
    names = sans or (tuple(lib.sans_of(old_server)) if old_server else ()) or lib.DEFAULT_SANS
    ca = lib.issue_ca(days=ca_days) if new_ca else lib.load_issued(layout.ca_cert, layout.ca_key)
    server = lib.issue_server(ca, sans=names, days=days)
    paths = [layout.server_cert, layout.server_key] + ([layout.ca_cert, layout.ca_key] if new_ca else [])
    for path in paths:
        saved = lib.backup(path)
        if saved is not None:
            click.echo(f"kept {saved}")
    if new_ca:
        lib.write_issued(ca, layout.ca_cert, layout.ca_key, force=True)
    lib.write_issued(server, layout.server_cert, layout.server_key, force=True)
    click.echo(f"wrote {layout.server_cert} (SANs {', '.join(names)}, {days} days)")
    if new_ca:
        click.echo(
            "note: the CA changed; re-issue every client with `tradeops certs issue-client NAME --force`"
        )
    return 0


@certs.command()
@_config_option
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object keyed by file.")
def show(config_path: Path, files: tuple[Path, ...], as_json: bool) -> int:
    """Subject, issuer, SANs, expiry, days left and sha256 fingerprint of each certificate."""
    from tradeops.security import certs as lib

    if not files:
        layout = _layout(config_path)
        files = (layout.ca_cert, layout.server_cert, *layout.client_certs())
    report = {str(path): lib.describe(lib.load_certificate(path)) for path in files}
    if as_json:
        click.echo(json.dumps(report, indent=2, sort_keys=True))
        return 0
    for path, info in report.items():
        click.echo(f"{path}:")
        for field in ("subject", "issuer", "sans", "not_after", "days_left", "fingerprint_sha256"):
            value = info[field]
            text = ", ".join(value) if isinstance(value, list) else value
            click.echo(f"  {field}: {text if text != '' else '-'}")
    return 0
