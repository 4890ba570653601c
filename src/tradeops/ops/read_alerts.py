"""Read use case: firing alerts and silences from the configured Alertmanager (API v2).

An Alertmanager that cannot be read is reported as such (`error`), never as "no alerts"."""

from __future__ import annotations

from dataclasses import dataclass

from tradeops.domain.errors import TradeopsError
from tradeops.ops.read_models import AlertsView
from tradeops.ops_ports import OpsContext


@dataclass(frozen=True, slots=True)
class AlertsQuery:
    include_expired_silences: bool = False


def alertmanager_url(ctx: OpsContext) -> str | None:
    return ctx.environ.get("TRADEOPS_ALERTMANAGER_URL") or ctx.cfg.observability.alertmanager.url


def read_alerts(ctx: OpsContext, query: AlertsQuery) -> AlertsView:
    """Active alerts (silenced ones marked by their status) and the silences, newest last."""
    url = alertmanager_url(ctx)
    if not url:
        return AlertsView(False, None, None)
    try:
        with ctx.alert_manager.connect(url) as client:
            alerts = client.alerts(include_silenced=True)
            silences = client.silences()
    except TradeopsError as exc:
        return AlertsView(True, url, str(exc))
    if not query.include_expired_silences:
        silences = [s for s in silences if (s.get("status") or {}).get("state") != "expired"]
    return AlertsView(True, url, None, tuple(alerts), tuple(silences))
