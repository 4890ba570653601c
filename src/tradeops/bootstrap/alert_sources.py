"""Alert sources for `tradeops metrics watch`, built here because one of them is the Alertmanager
client (an adapter)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tradeops.config.models import AppConfig
from tradeops.observability.alertmanager import AlertmanagerClient, Matcher
from tradeops.observability.local_rules import LocalEvaluator
from tradeops.observability.rules import load_rules
from tradeops.observability.watch import AlertmanagerSource, AlertSource, LocalSource, PrometheusSource


def build_alert_source(
    cfg: AppConfig, alertmanager_url: str | None, prometheus_url: str | None, rules_path: Path
) -> AlertSource:
    """Where `tradeops metrics watch` takes alerts from: Alertmanager, else Prometheus, else the
    alert rules evaluated locally."""
    settings = cfg.observability.alertmanager
    matchers = tuple(Matcher(k, v) for k, v in settings.stage4_matchers.items())
    am_url = alertmanager_url or settings.url
    if am_url:
        client = AlertmanagerClient(am_url)
        client.alerts()  # unreachable: one-line error, exit 2, before the window starts
        return AlertmanagerSource(client, matchers, datetime.now(UTC).timestamp())
    if prometheus_url:
        return PrometheusSource(prometheus_url, matchers)
    if not rules_path.exists() and not rules_path.is_absolute():
        # Run outside the checkout (e.g. a scratch directory): use the rules shipped with this install.
        shipped = Path(__file__).resolve().parents[3] / rules_path
        rules_path = shipped if shipped.exists() else rules_path
    return LocalSource(LocalEvaluator.from_rules(load_rules(rules_path)), str(rules_path))
