"""The metrics watcher against a real exporter: window, local rules, new vs old alerts, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.conftest import free_port
from tests.integration.live import scratch_repo
from tradeops.config.models import MetricsConfig, ResourceLimits
from tradeops.domain.errors import UserInputError
from tradeops.observability.local_rules import LocalEvaluator, compile_rule
from tradeops.observability.metrics import MetricsServer, start_metrics_server
from tradeops.observability.rules import RULES_FILE, AlertRule, load_rules
from tradeops.observability.scrape import Scraper, build_headers
from tradeops.observability.watch import (
    LocalSource,
    PollView,
    WatchResult,
    WatchSettings,
    run_watch,
    time_scale,
)
from tradeops.observability.watch_report import (
    EXIT_NEW_CRITICAL,
    EXIT_NOT_ALL_EVALUATED,
    EXIT_OK,
    build_report,
)
from tradeops.runtime.stats import RuntimeStats

REPO = Path(__file__).resolve().parents[2]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0
        self.sleeps = 0

    def wall(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.now += seconds


@pytest.fixture
def runtime() -> Iterator[tuple[RuntimeStats, MetricsServer]]:
    stats = RuntimeStats("binance_paper")
    for name in ("daily_trend", "mean_reversion"):
        stats.strategy(name, "balanced").signals = 2
    server = start_metrics_server(stats, MetricsConfig(port=0), ResourceLimits())
    try:
        yield stats, server
    finally:
        server.stop()


def watch(
    server: MetricsServer,
    on_poll: Callable[[PollView], None],
    duration_s: float = 300,
    interval_s: float = 10,
    rules: list[AlertRule] | None = None,
    clock: FakeClock | None = None,
) -> tuple[WatchResult, dict]:
    chosen = load_rules(REPO / RULES_FILE) if rules is None else rules
    source = LocalSource(LocalEvaluator.from_rules(chosen), str(RULES_FILE))
    settings = WatchSettings(server.url, duration_s, interval_s)
    scraper = Scraper(server.url, build_headers((), None, None, {}))
    try:
        result = run_watch(scraper, source, settings, clock or FakeClock(), on_poll)
    finally:
        scraper.close()
    return result, build_report(result, settings, source.describe(), None)


def at_poll(n: int, action: Callable[[], None]) -> Callable[[PollView], None]:
    def hook(view: PollView) -> None:
        if view.polls == n:
            action()

    return hook


def test_quiet_window_evaluates_every_rule_and_says_no_new_critical_alerts(
    runtime: tuple[RuntimeStats, MetricsServer],
) -> None:
    stats, server = runtime

    def trade(view: PollView) -> None:  # a healthy runtime: fast cycles, orders filled
        for strategy in stats.strategies.values():
            strategy.latency.observe(0.01)
            strategy.orders += 1
            strategy.fills += 1
        if view.polls == 3:
            stats.strategies["daily_trend"].signals += 4
            stats.strategies["daily_trend"].denials["max_position"] += 1

    result, report = watch(server, trade)
    rules = load_rules(REPO / RULES_FILE)
    assert report["alert_source"]["not_evaluated"] == [] and len(report["alert_source"]["evaluated"]) == len(
        rules
    )
    assert report["exit_code"] == EXIT_OK and report["alerts"] == []
    assert report["verdict"] == f"no new critical alerts (all {len(rules)} rules evaluated)"
    assert result.polls == 300 // 10 + 1  # one poll at the start, then every 10 s up to the deadline
    trend = report["changes"]["strategies"]["daily_trend"]
    assert trend["signals"] == {"start": 2.0, "end": 6.0, "delta": 4.0}
    assert trend["denials"]["delta"] == 1.0
    assert report["changes"]["strategies"]["mean_reversion"]["signals"]["delta"] == 0.0


def test_a_rule_outside_the_supported_promql_is_named_and_exits_4(
    runtime: tuple[RuntimeStats, MetricsServer],
) -> None:
    _, server = runtime
    odd = AlertRule(
        "OddRule", 'label_replace(up, "x", "$1", "job", "(.*)") == 0', None, {"severity": "critical"}
    )
    rules = [*load_rules(REPO / RULES_FILE), odd]
    _, report = watch(server, lambda view: None, rules=rules)
    assert report["alert_source"]["not_evaluated"] == ["OddRule"]
    assert report["exit_code"] == EXIT_NOT_ALL_EVALUATED and "NOT evaluated" in report["verdict"]
    assert "OddRule" in report["verdict"] and not report["verdict"].startswith("no new critical alerts")


def every_poll(action: Callable[[], None]) -> Callable[[PollView], None]:
    return lambda view: action()


def fired(report: dict) -> dict[str, dict]:
    return {a["alertname"]: a for a in report["alerts"]}


def test_slow_cycles_fire_the_latency_critical_rule(runtime: tuple[RuntimeStats, MetricsServer]) -> None:
    stats, server = runtime

    def slow() -> None:
        for _ in range(5):
            stats.strategies["daily_trend"].latency.observe(1.5)  # p99 above 1 s (rule: for 2m)
            stats.strategies["mean_reversion"].latency.observe(0.01)

    _, report = watch(server, every_poll(slow), duration_s=600, interval_s=30)
    alerts = fired(report)
    critical = alerts["Stage4SchedulerLatencyCritical"]
    assert critical["new"] and critical["labels"]["strategy"] == "daily_trend"
    assert alerts["Stage4SchedulerLatencyHigh"]["severity"] == "warning"
    assert {a["labels"]["strategy"] for a in report["alerts"]} == {"daily_trend"}
    assert report["exit_code"] == EXIT_NEW_CRITICAL


def test_orders_without_fills_fire_no_fills(runtime: tuple[RuntimeStats, MetricsServer]) -> None:
    stats, server = runtime

    def unfilled() -> None:
        stats.strategies["mean_reversion"].orders += 1  # never filled
        stats.strategies["daily_trend"].orders += 1
        stats.strategies["daily_trend"].fills += 1

    _, report = watch(server, every_poll(unfilled), duration_s=900, interval_s=30)
    no_fills = [a for a in report["alerts"] if a["alertname"] == "Stage4NoFills"]
    assert [a["labels"]["strategy"] for a in no_fills] == ["mean_reversion"]
    assert report["exit_code"] == EXIT_OK  # a warning: listed, does not fail the watch
    assert "Stage4NoFills" in report["alert_source"]["short_history"]  # a 1h range seen through 15m


def test_exchange_errors_fire_the_adapter_failure_rule(runtime: tuple[RuntimeStats, MetricsServer]) -> None:
    stats, server = runtime

    def failing() -> None:
        stats.exchange_errors[("binance", "temporary")] += 1  # ~30 a 5 minutes (rule: >= 5 for 1m)

    _, report = watch(server, every_poll(failing))
    [alert] = report["new_critical_alerts"]
    assert alert["alertname"] == "Stage4ExchangeAdapterFailures" and alert["labels"]["exchange"] == "binance"
    assert report["exit_code"] == EXIT_NEW_CRITICAL


def test_a_heartbeat_that_stops_fires_the_stalled_rule(runtime: tuple[RuntimeStats, MetricsServer]) -> None:
    stats, server = runtime
    stats.heartbeat_stale_after_s = 5.0
    clock = FakeClock()

    def beat(view: PollView) -> None:
        if view.polls < 6:  # the scheduler beats in wall time, then hangs (the exporter still answers)
            stats.heartbeat_ms = int(clock.now * 1000)

    _, report = watch(server, beat, clock=clock)
    [alert] = report["new_critical_alerts"]
    assert alert["alertname"] == "Stage4SchedulerStalled" and alert["labels"]["stage"] == "safety"
    assert alert["labels"]["job"] == "tradeops"  # the target labels Prometheus would attach


def test_critical_alert_starting_in_the_window_exits_3(runtime: tuple[RuntimeStats, MetricsServer]) -> None:
    stats, server = runtime
    _, report = watch(server, at_poll(5, lambda: setattr(stats, "override_malformed", True)))
    assert report["exit_code"] == EXIT_NEW_CRITICAL
    [alert] = report["new_critical_alerts"]
    assert alert["alertname"] == "Stage4KillSwitchOverrideMalformed" and alert["new"] is True


def test_alert_already_true_at_the_start_is_listed_but_not_new(
    runtime: tuple[RuntimeStats, MetricsServer],
) -> None:
    stats, server = runtime
    stats.override_malformed = True  # the rollback's own state, before the window opens
    stats.override_active = True
    _, report = watch(server, lambda view: None)
    assert report["exit_code"] == EXIT_OK  # nothing new
    names = {a["alertname"]: a for a in report["alerts"]}
    assert names["Stage4KillSwitchOverrideMalformed"]["new"] is False
    assert names["Stage4KillSwitchEngaged"]["severity"] == "warning"


def test_warning_in_the_window_does_not_fail_the_watch(runtime: tuple[RuntimeStats, MetricsServer]) -> None:
    stats, server = runtime
    _, report = watch(server, at_poll(2, lambda: setattr(stats, "override_active", True)))
    assert report["exit_code"] == EXIT_OK  # a warning never fails the watch
    assert [a["alertname"] for a in report["alerts"]] == ["Stage4KillSwitchEngaged"]


def test_for_duration_is_honoured_in_watch_time(runtime: tuple[RuntimeStats, MetricsServer]) -> None:
    stats, server = runtime
    trend = stats.strategies["daily_trend"]

    def loss(ratio_x_budget: int) -> None:
        trend.daily_loss_budget = type(trend.day_pnl)(100)
        trend.day_pnl = type(trend.day_pnl)(-100 * ratio_x_budget)

    # 4x budget for 50 s only (rule: > 3 for 1m): no alert; then for good: alert.
    hooks = {3: lambda: loss(4), 8: lambda: loss(0), 20: lambda: loss(4)}
    _, report = watch(server, lambda view: hooks[view.polls]() if view.polls in hooks else None)
    divergence = [a for a in report["alerts"] if a["alertname"] == "Stage4PnlDivergence"]
    assert len(divergence) == 1 and divergence[0]["labels"]["strategy"] == "daily_trend"
    assert report["exit_code"] == EXIT_NEW_CRITICAL


def test_exporter_going_away_mid_window_raises_exporter_down(
    runtime: tuple[RuntimeStats, MetricsServer],
) -> None:
    _, server = runtime
    result, report = watch(server, at_poll(10, server.stop))
    assert result.failures > 0
    assert [a["alertname"] for a in report["new_critical_alerts"]] == ["Stage4MetricsExporterDown"]


def test_unreachable_endpoint_at_start_is_a_user_error() -> None:
    url = f"http://127.0.0.1:{free_port()}/metrics"
    scraper = Scraper(url, [])
    source = LocalSource(LocalEvaluator.from_rules([]), "none")
    with pytest.raises(UserInputError, match="cannot watch"):
        run_watch(scraper, source, WatchSettings(url, 60, 10), FakeClock())


def test_polls_are_bounded_even_if_the_clock_stands_still(
    runtime: tuple[RuntimeStats, MetricsServer],
) -> None:
    _, server = runtime

    class StuckClock(FakeClock):
        def sleep(self, seconds: float) -> None:
            self.sleeps += 1

    scraper = Scraper(server.url, [])
    settings = WatchSettings(server.url, 60, 10)
    result = run_watch(scraper, LocalSource(LocalEvaluator.from_rules([]), "none"), settings, StuckClock())
    scraper.close()
    assert result.polls == settings.max_polls == 8


def test_rules_are_parsed_once_into_their_for_duration() -> None:
    assert compile_rule(AlertRule("R", 'x{a=~"b.*"} offset 5m > 1', None)) is None  # offset: unsupported
    local = compile_rule(AlertRule("R", 'x{a="b"} >= 2.5', "2m"))
    assert local is not None and local.for_s == 120.0 and local.longest_range_s == 0.0
    ranged = compile_rule(AlertRule("R", "increase(x[1h]) > 0 and rate(y[5m]) > 1", None))
    assert ranged is not None and ranged.longest_range_s == 3600.0


def test_time_scale_env() -> None:
    assert time_scale({}) == 1.0
    assert time_scale({"TRADEOPS_TIME_SCALE": "60"}) == 60.0
    for bad in ("0", "-2", "fast", "nan"):
        with pytest.raises(UserInputError, match="TRADEOPS_TIME_SCALE"):
            time_scale({"TRADEOPS_TIME_SCALE": bad})


# --- the runbook command, verbatim, as a subprocess ---------------------------------------------------


@pytest.fixture
def repo_with_exporter(tmp_path: Path, runtime: tuple[RuntimeStats, MetricsServer]) -> Path:
    root = scratch_repo(tmp_path)
    yaml = YAML()
    config = root / "config" / "core.yaml"
    document = yaml.load(config)
    document["observability"]["metrics"]["port"] = runtime[1].port
    yaml.dump(document, config)
    return root


def run_runbook_command(root: Path, *extra: str, scale: str = "900") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEOPS_")}
    env["TRADEOPS_TIME_SCALE"] = scale
    command = [
        sys.executable,
        "scripts/watch_metrics_stream.py",
        "--headers-report",
        "--duration",
        "15m",
        *extra,
    ]
    return subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=60)


def test_runbook_step_4_verbatim_without_prometheus_evaluates_every_rule(
    repo_with_exporter: Path,
) -> None:
    done = run_runbook_command(repo_with_exporter, "--output", "logs/watch.json")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    headers = json.loads(done.stdout[: done.stdout.index("\n}\n") + 2])
    assert {h["source"] for h in headers["headers"]} == {"default"}
    rules = len(load_rules(REPO / RULES_FILE))
    assert f"verdict: no new critical alerts (all {rules} rules evaluated) (exit 0)" in done.stdout
    assert "not evaluated: none" in done.stdout and "time scale 900" in done.stdout
    report = json.loads((repo_with_exporter / "logs" / "watch.json").read_text())
    assert report["exit_code"] == 0 and report["duration"] == "15m" and report["time_scale"] == 900
    assert report["alert_source"]["not_evaluated"] == []
    assert report["headers_report"] == headers


@pytest.fixture
def fake_exporter(request: pytest.FixtureRequest) -> Iterator[str]:
    """A metrics server in its own process (tests/fake_exporter.py); yields its /metrics URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_exporter", request.param],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        yield f"http://127.0.0.1:{port}/metrics"
    finally:
        process.kill()
        process.wait(timeout=10)


@pytest.mark.parametrize(
    ("fake_exporter", "code", "critical"),
    [("quiet", 0, []), ("adapter_failures", 3, ["Stage4ExchangeAdapterFailures"])],
    indirect=["fake_exporter"],
)
def test_watcher_process_against_an_exporter_process(
    tmp_path: Path, fake_exporter: str, code: int, critical: list[str]
) -> None:
    root = scratch_repo(tmp_path)
    done = run_runbook_command(root, "--url", fake_exporter, "--output", "logs/watch.json")
    assert done.returncode == code, done.stdout[-2000:] + done.stderr
    report = json.loads((root / "logs" / "watch.json").read_text())
    assert [a["alertname"] for a in report["new_critical_alerts"]] == critical
    assert report["alert_source"]["not_evaluated"] == [] and report["scrape_failures"] == 0


@pytest.mark.parametrize(
    ("extra", "scale", "message"),
    [
        (("--url", "http://127.0.0.1:1/metrics"), "900", "cannot watch"),
        (("--header", "no-separator"), "900", "--header"),
        ((), "fast", "TRADEOPS_TIME_SCALE"),
        (("--interval", "0"), "900", "--interval"),
    ],
    ids=["unreachable", "bad header", "bad time scale", "bad interval"],
)
def test_bad_input_or_unreachable_exits_2_with_one_line(
    repo_with_exporter: Path, extra: tuple[str, ...], scale: str, message: str
) -> None:
    done = run_runbook_command(repo_with_exporter, *extra, scale=scale)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
