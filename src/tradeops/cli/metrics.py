"""`tradeops metrics`: list exported names, generate the Grafana dashboard, watch a running runtime."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from tradeops.cli.options import config_option


@click.group("metrics")
def metrics() -> None:
    """Prometheus metrics of the runtime: names, dashboard, live watcher."""


@metrics.command("names")
def names() -> int:
    """Print every exported metric family name (what rules and panels may use)."""
    from tradeops.observability.metrics import METRIC_NAMES

    click.echo("\n".join(METRIC_NAMES))
    return 0


@metrics.command("dashboard")
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the dashboard JSON here (default: print it).",
)
@click.option("--check", is_flag=True, help="Exit 1 when --output differs from the generated dashboard.")
def dashboard(output: Path | None, check: bool) -> int:
    """Generate "Stage4 – Multi-Strategy Operations" (grafana-foundation-sdk, Grafana 11)."""
    from tradeops.domain.errors import UserInputError
    from tradeops.fsutil import atomic_write_text
    from tradeops.observability.dashboard import dashboard_json

    text = dashboard_json()
    if output is None:
        if check:
            raise UserInputError("--check needs --output PATH (the file to compare)")
        click.echo(text, nl=False)
        return 0
    if check:
        same = output.is_file() and output.read_text(encoding="utf-8") == text
        click.echo(f"{output}: {'up to date' if same else 'differs from the generated dashboard'}")
        return 0 if same else 1
    atomic_write_text(output, text)
    click.echo(f"wrote {output}")
    return 0


@metrics.command("watch")
@click.option("--url", help="Metrics endpoint (default: http://<observability.metrics.host>:<port>/metrics).")
@click.option("--duration", default="15m", show_default=True, help="How long to watch: 90s, 15m, 1h.")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=10.0,
    show_default=True,
    help="Seconds between polls (in watch time, see TRADEOPS_TIME_SCALE).",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the report JSON here (atomically).",
)
@click.option(
    "--headers-report", is_flag=True, help="Print the request headers (secrets masked) and their sources."
)
@click.option("--header", "headers", multiple=True, help="Extra request header NAME=VALUE (repeatable).")
@click.option("--token-env", help="Env var holding the exporter's bearer token (default: config token_env).")
@click.option(
    "--alertmanager-url",
    envvar="TRADEOPS_ALERTMANAGER_URL",
    show_envvar=True,
    help="Take alerts from this Alertmanager (default: env, then observability.alertmanager.url).",
)
@click.option(
    "--prometheus-url", help="Take alerts from this Prometheus' ALERTS series (when no Alertmanager)."
)
@click.option(
    "--ca-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="CA to verify an https exporter (default: observability.metrics.tls.client_ca when TLS is on).",
)
@click.option("--client-cert", type=click.Path(path_type=Path, dir_okay=False), help="Client cert (mTLS).")
@click.option("--client-key", type=click.Path(path_type=Path, dir_okay=False), help="Key of --client-cert.")
@config_option
@click.option(
    "--rules",
    "rules_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("deploy/prometheus/rules/multi_strategy_rules.yml"),
    show_default=True,
    help="Alert rules evaluated locally when neither Alertmanager nor Prometheus is given.",
)
def watch(
    url: str | None,
    duration: str,
    interval: float,
    output: Path | None,
    headers_report: bool,
    headers: tuple[str, ...],
    token_env: str | None,
    alertmanager_url: str | None,
    prometheus_url: str | None,
    ca_file: Path | None,
    client_cert: Path | None,
    client_key: Path | None,
    config_path: Path,
    rules_path: Path,
) -> int:
    """Follow the runtime's metrics; exit 0 when no NEW critical alert fired in the window, 3 when one did.

    2 on bad input or an unreachable endpoint. TRADEOPS_TIME_SCALE=60 (drills, training) makes
    15m of watching take 15 s.
    """
    return _run_watch(
        url=url,
        duration=duration,
        interval=interval,
        output=output,
        headers_report=headers_report,
        headers=headers,
        token_env=token_env,
        alertmanager_url=alertmanager_url,
        prometheus_url=prometheus_url,
        tls_files=(ca_file, client_cert, client_key),
        config_path=config_path,
        rules_path=rules_path,
    )


def _run_watch(
    *,
    url: str | None,
    duration: str,
    interval: float,
    output: Path | None,
    headers_report: bool,
    headers: tuple[str, ...],
    token_env: str | None,
    alertmanager_url: str | None,
    prometheus_url: str | None,
    tls_files: tuple[Path | None, Path | None, Path | None],
    config_path: Path,
    rules_path: Path,
) -> int:
    from rich.console import Console
    from rich.live import Live

    from tradeops.config.load import load_config
    from tradeops.fsutil import atomic_write_json
    from tradeops.observability import scrape
    from tradeops.observability.durations import parse_duration
    from tradeops.observability.watch import PollView, SystemClock, WatchSettings, run_watch, time_scale
    from tradeops.observability.watch_report import build_report, live_table, report_lines

    cfg = load_config(config_path)
    metrics_cfg = cfg.observability.metrics
    scheme = "https" if metrics_cfg.tls is not None else "http"
    settings = WatchSettings(
        url=url or f"{scheme}://{metrics_cfg.host}:{metrics_cfg.port}/metrics",
        duration_s=parse_duration(duration, "--duration", units="smh"),
        interval_s=interval,
        time_scale=time_scale(os.environ),
    )
    sent = scrape.build_headers(headers, token_env, metrics_cfg.token_env, os.environ)
    report_of_headers = scrape.headers_report(sent) if headers_report else None
    if report_of_headers is not None:
        click.echo(json.dumps(report_of_headers, indent=2, ensure_ascii=False))
    from tradeops.bootstrap.alert_sources import build_alert_source

    source = build_alert_source(cfg, alertmanager_url, prometheus_url, rules_path)
    ca_file, client_cert, client_key = tls_files
    if ca_file is None and metrics_cfg.tls is not None:
        ca_file = Path(metrics_cfg.tls.client_ca)
    https = settings.url.startswith("https")
    verify = scrape.tls_client_context(ca_file, client_cert, client_key) if https else True
    scraper = scrape.Scraper(settings.url, sent, verify=verify)
    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 110))
    if settings.time_scale != 1:
        click.echo(
            f"note: TRADEOPS_TIME_SCALE={settings.time_scale:g} (drill/training accelerator): "
            f"{duration} of watching takes {settings.duration_s / settings.time_scale:.1f} s",
            err=True,
        )
    try:
        if console.is_terminal:
            with Live(console=console, refresh_per_second=4) as live:

                def show(view: PollView) -> None:
                    live.update(
                        live_table(view.samples, view.alerts, view.watch_elapsed_s, settings.duration_s)
                    )

                result = run_watch(scraper, source, settings, SystemClock(), show)
        else:

            def announce(view: PollView) -> None:
                for alert in view.started:
                    when = "new" if alert["new"] else "before the window"
                    where = " ".join(
                        f"{k}={v}"
                        for k, v in sorted(alert["labels"].items())
                        if k not in ("alertname", "severity", "team", "stage")
                    )
                    click.echo(f"alert {alert['alertname']} ({alert['severity']}, {when}) {where}".rstrip())
                if view.error:
                    click.echo(f"scrape failed: {view.error}", err=True)

            result = run_watch(scraper, source, settings, SystemClock(), announce)
    finally:
        scraper.close()
    report = build_report(result, settings, source.describe(), report_of_headers)
    if not console.is_terminal:
        console.print(live_table(result.last, result.alerts, settings.duration_s, settings.duration_s))
    click.echo("\n".join(report_lines(report)))
    if output is not None:
        atomic_write_json(output, report)
        click.echo(f"report written to {output}")
    sys.stdout.flush()
    return int(report["exit_code"])
