"""The Prometheus exporter over RuntimeStats: real HTTP scrapes, promtool, names, values, token."""

from __future__ import annotations

import math
import subprocess
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port, require_binary
from tradeops.config.models import MetricsConfig, ResourceLimits, TlsConfig
from tradeops.domain.errors import UserInputError
from tradeops.domain.events import DenialReason
from tradeops.domain.trading import TradingState
from tradeops.observability.metrics import METRIC_NAMES, MetricsServer, start_metrics_server
from tradeops.observability.scrape import ScrapeError, Scraper, parse_exposition, tls_client_context
from tradeops.runtime.stats import RuntimeStats
from tradeops.security import certs


def busy_stats() -> RuntimeStats:
    stats = RuntimeStats("binance_paper", started_ms=1_700_000_000_000, last_cycle_ms=1_700_000_060_000)
    trend = stats.strategy("daily_trend", "balanced")
    trend.signals, trend.orders, trend.fills, trend.cycles = 7, 5, 4, 12
    trend.denials[DenialReason.MAX_POSITION.value] += 2
    trend.latency.observe(0.004)
    trend.latency.observe(0.3)
    trend.drift.observe(1.5)
    trend.allocation_allowed, trend.allocation_used = Decimal(35_000), Decimal(7_000)
    trend.day_pnl, trend.daily_loss_budget = Decimal(-1_050), Decimal(300)
    trend.drawdown_ratio = 0.04
    trend.trading_state = TradingState.REDUCING
    cross = stats.strategy("cross_exchange", "manual")
    cross.disabled = True
    cross.exposure = cross.allocation_used = Decimal(50)  # held position with zero allocation
    stats.resources.cpu_percent, stats.resources.memory_mb = 130.0, 512.0
    stats.resources.breach_seconds = 42.0
    stats.exchange_errors[("bybit", "temporary")] += 3
    stats.exchange_latency["bybit"] = type(trend.latency)()
    stats.exchange_latency["bybit"].observe(0.08)
    stats.decision_log_write.observe(0.002)
    stats.decision_log_backlog = 17
    stats.override_active = True
    return stats


@pytest.fixture
def server() -> Iterator[tuple[MetricsServer, RuntimeStats]]:
    stats = busy_stats()
    exporter = start_metrics_server(stats, MetricsConfig(port=0), ResourceLimits())
    try:
        yield exporter, stats
    finally:
        exporter.stop()


def value(samples: dict, name: str, **labels: str) -> float:
    for found, v in samples[name].items():
        if all(dict(found).get(k) == want for k, want in labels.items()):
            return v
    raise KeyError(f"{name} {labels}")


def test_scrape_passes_promtool_check_metrics(server: tuple[MetricsServer, RuntimeStats]) -> None:
    promtool = require_binary("promtool")
    exporter, _ = server
    text = httpx.get(exporter.url).text
    checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_family_in_metric_names_is_exported_and_nothing_else(
    server: tuple[MetricsServer, RuntimeStats],
) -> None:
    exporter, _ = server
    text = httpx.get(exporter.url).text
    # The text format names counters with their _total suffix, as queries use them.
    families = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}
    assert families == set(METRIC_NAMES)
    assert len(METRIC_NAMES) == len(set(METRIC_NAMES))
    assert all(name.startswith("tradeops_") for name in METRIC_NAMES)


def test_values_follow_the_runtime_stats_at_scrape_time(server: tuple[MetricsServer, RuntimeStats]) -> None:
    exporter, stats = server
    samples = parse_exposition(httpx.get(exporter.url).text)
    trend = {"strategy": "daily_trend", "risk_profile": "balanced"}
    assert value(samples, "tradeops_strategy_signals_total", **trend) == 7
    assert value(samples, "tradeops_strategy_denials_total", reason="max_position", **trend) == 2
    # every reason is present from the start, so rate() works before the first denial
    reasons = [k for k in samples["tradeops_strategy_denials_total"] if dict(k)["strategy"] == "daily_trend"]
    assert len(reasons) == len(DenialReason)
    assert value(samples, "tradeops_strategy_pnl_divergence_ratio", **trend) == pytest.approx(3.5)
    assert value(samples, "tradeops_strategy_allocation_used_ratio", **trend) == pytest.approx(0.2)
    assert math.isinf(value(samples, "tradeops_strategy_allocation_used_ratio", strategy="cross_exchange"))
    assert value(samples, "tradeops_strategy_trading_state", state="reducing", **trend) == 1
    assert value(samples, "tradeops_strategy_trading_state", state="active", **trend) == 0
    assert value(samples, "tradeops_strategy_disabled", strategy="cross_exchange") == 1
    assert value(samples, "tradeops_strategy_cycle_latency_seconds_bucket", le="0.005", **trend) == 1
    assert value(samples, "tradeops_strategy_cycle_latency_seconds_bucket", le="+Inf", **trend) == 2
    assert value(samples, "tradeops_strategy_cycle_latency_seconds_count", **trend) == 2
    assert value(samples, "tradeops_resource_cpu_ratio") == pytest.approx(1.3)
    assert value(samples, "tradeops_resource_usage_ratio", resource="cpu") == pytest.approx(130 / 65)
    assert value(samples, "tradeops_resource_headroom_ratio", resource="memory") == pytest.approx(0.75)
    assert value(samples, "tradeops_resource_memory_bytes") == 512 * 1024 * 1024
    assert value(samples, "tradeops_exchange_errors_total", exchange="bybit", kind="temporary") == 3
    assert value(samples, "tradeops_exchange_errors_total", exchange="bybit", kind="rejected") == 0
    assert value(samples, "tradeops_override_active") == 1
    assert value(samples, "tradeops_start_time_seconds") == 1_700_000_000

    stats.override_active = False
    stats.strategies["daily_trend"].signals += 3
    later = parse_exposition(httpx.get(exporter.url).text)
    assert value(later, "tradeops_override_active") == 0
    assert value(later, "tradeops_strategy_signals_total", **trend) == 10


def test_disabled_strategy_series_say_manual_and_disabled(server: tuple[MetricsServer, RuntimeStats]) -> None:
    exporter, stats = server
    trend = stats.strategies["daily_trend"]
    trend.trading_state, trend.disabled = TradingState.ACTIVE, True
    samples = parse_exposition(httpx.get(exporter.url).text)
    manual = {"strategy": "daily_trend", "risk_profile": "manual"}
    assert value(samples, "tradeops_strategy_trading_state", state="disabled", **manual) == 1
    assert value(samples, "tradeops_strategy_trading_state", state="active", **manual) == 0
    assert not [k for k in samples["tradeops_strategy_signals_total"] if ("risk_profile", "balanced") in k
                and ("strategy", "daily_trend") in k]  # fmt: skip
    trend.disabled = False
    samples = parse_exposition(httpx.get(exporter.url).text)
    balanced = {"strategy": "daily_trend", "risk_profile": "balanced"}
    assert value(samples, "tradeops_strategy_trading_state", state="active", **balanced) == 1
    assert value(samples, "tradeops_strategy_trading_state", state="disabled", **balanced) == 0


def test_heartbeat_gauges_and_liveness(server: tuple[MetricsServer, RuntimeStats]) -> None:
    exporter, stats = server
    samples = parse_exposition(httpx.get(exporter.url).text)
    assert value(samples, "tradeops_scheduler_up") == 0  # no heartbeat yet
    stats.heartbeat_ms, stats.heartbeat_stale_after_s = int(time.time() * 1000), 5.0
    samples = parse_exposition(httpx.get(exporter.url).text)
    assert value(samples, "tradeops_scheduler_up") == 1
    assert value(samples, "tradeops_heartbeat_stale_after_seconds") == 5.0
    stats.heartbeat_ms -= 6_000
    samples = parse_exposition(httpx.get(exporter.url).text)
    assert value(samples, "tradeops_scheduler_up") == 0


def test_bearer_token_is_required_when_token_env_is_set() -> None:
    cfg = MetricsConfig(port=0, token_env="TEST_METRICS_TOKEN")
    environ = {"TEST_METRICS_TOKEN": "s3cret"}
    exporter = start_metrics_server(RuntimeStats("x"), cfg, ResourceLimits(), environ=environ)
    try:
        assert httpx.get(exporter.url).status_code == 401
        wrong = httpx.get(exporter.url, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        right = httpx.get(exporter.url, headers={"Authorization": "Bearer s3cret"})
        assert right.status_code == 200 and "tradeops_build_info" in right.text
    finally:
        exporter.stop()


def test_named_but_unset_token_env_refuses_to_serve() -> None:
    cfg = MetricsConfig(port=0, token_env="TEST_METRICS_TOKEN")
    with pytest.raises(UserInputError, match="TEST_METRICS_TOKEN"):
        start_metrics_server(RuntimeStats("x"), cfg, ResourceLimits(), environ={})


def test_port_in_use_is_a_one_line_user_error() -> None:
    port = free_port()
    first = start_metrics_server(RuntimeStats("x"), MetricsConfig(port=port), ResourceLimits())
    try:
        with pytest.raises(UserInputError, match=f"127.0.0.1:{port}"):
            start_metrics_server(RuntimeStats("x"), MetricsConfig(port=port), ResourceLimits())
    finally:
        first.stop()


def test_unknown_path_is_404_and_stop_releases_the_port() -> None:
    exporter = start_metrics_server(RuntimeStats("x"), MetricsConfig(port=0), ResourceLimits())
    port = exporter.port
    assert httpx.get(f"http://127.0.0.1:{port}/nope").status_code == 404
    exporter.stop()
    again = start_metrics_server(RuntimeStats("x"), MetricsConfig(port=port), ResourceLimits())
    again.stop()


@pytest.fixture
def tls_files(tmp_path: Path) -> dict[str, Path]:
    ca = certs.issue_ca()
    files = {
        name: tmp_path / f"{name}.pem" for name in ("ca", "server", "server_key", "client", "client_key")
    }
    files["ca"].write_bytes(ca.cert_pem())
    certs.write_issued(certs.issue_server(ca, sans=("127.0.0.1",)), files["server"], files["server_key"])
    certs.write_issued(certs.issue_client(ca, "watcher"), files["client"], files["client_key"])
    return files


def test_tls_with_client_certificates(tls_files: dict[str, Path]) -> None:
    tls = TlsConfig(
        certificate=str(tls_files["server"]),
        private_key=str(tls_files["server_key"]),
        client_ca=str(tls_files["ca"]),
        require_client_cert=True,
    )
    exporter = start_metrics_server(RuntimeStats("x"), MetricsConfig(port=0, tls=tls), ResourceLimits())
    try:
        assert exporter.url.startswith("https://127.0.0.1:")
        with_cert = tls_client_context(tls_files["ca"], tls_files["client"], tls_files["client_key"])
        scraper = Scraper(exporter.url, [], verify=with_cert)
        assert "tradeops_build_info" in scraper.scrape()
        scraper.close()
        without = Scraper(exporter.url, [], verify=tls_client_context(tls_files["ca"], None, None))
        with pytest.raises(ScrapeError):
            without.scrape()
        without.close()
        plain = Scraper(exporter.url.replace("https", "http"), [])
        with pytest.raises(ScrapeError):
            plain.scrape()
        plain.close()
        # the failed handshakes did not take the exporter down
        again = Scraper(exporter.url, [], verify=with_cert)
        assert "tradeops_build_info" in again.scrape()
        again.close()
    finally:
        exporter.stop()


def test_missing_tls_files_are_a_user_error(tmp_path: Path) -> None:
    tls = TlsConfig(certificate=str(tmp_path / "none.pem"), private_key=str(tmp_path / "none.key"))
    with pytest.raises(UserInputError, match=r"observability.metrics.tls.certificate .*none.pem"):
        start_metrics_server(RuntimeStats("x"), MetricsConfig(port=0, tls=tls), ResourceLimits())
