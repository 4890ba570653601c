"""Real Prometheus and Alertmanager over the exporter: panels return data, a fault fires the right
alert, `tradeops alerts silence` suppresses it, `unsilence` restores it, the watcher reports it.

The exporter serves a RuntimeStats owned by this test (faults are injected by editing it). Rules are
the committed file with only `for:` and the group interval shortened, so the test does not wait
minutes; thresholds and expressions are untouched.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import free_port, require_binary
from tests.integration.live import TRADEOPS, Scheduler, entries, run, scratch_repo, signing_env
from tradeops.cli.main import main
from tradeops.config.models import MetricsConfig, ResourceLimits
from tradeops.observability.dashboard import DASHBOARD_PATH, panel_queries, substitute_variables
from tradeops.observability.metrics import MetricsServer, start_metrics_server
from tradeops.observability.rules import RULES_FILE
from tradeops.runtime.stats import Histogram, RuntimeStats, VenueRequestStats

pytestmark = [pytest.mark.services, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
DEADLINE_S = 60.0
STRATEGIES = ("daily_trend", "mean_reversion", "volatility_target", "cross_exchange")


def wait_until(what: str, probe: Callable[[], Any], timeout: float = DEADLINE_S) -> Any:
    """Poll `probe` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except httpx.HTTPError as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def fast_rules(tmp: Path) -> Path:
    """The committed rules with `for:` and the evaluation interval shortened (never the thresholds)."""
    document = yaml.safe_load((REPO / RULES_FILE).read_text())
    for group in document["groups"]:
        group["interval"] = "1s"
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = "1s"
    path = tmp / "rules.yml"
    path.write_text(yaml.safe_dump(document))
    return path


def healthy_stats() -> RuntimeStats:
    stats = RuntimeStats("binance_paper", started_ms=int(time.time() * 1000))
    for name in STRATEGIES:
        s = stats.strategy(name, "balanced")
        s.signals, s.orders, s.fills, s.cycles = 10, 6, 6, 20
        s.latency.observe(0.004)
        s.drift.observe(0.2)
        s.allocation_allowed, s.allocation_used = Decimal(30_000), Decimal(6_000)
        s.exposure, s.realized_pnl, s.unrealized_pnl = Decimal(6_000), Decimal(120), Decimal(-15)
        s.daily_loss_budget, s.day_pnl = Decimal(450), Decimal(30)
        s.drawdown_ratio = 0.01
    stats.equity = Decimal(100_000)
    stats.resources.cpu_percent, stats.resources.memory_mb = 20.0, 300.0
    stats.exchange_latency["binance"] = Histogram()
    stats.exchange_latency["binance"].observe(0.05)
    stats.exchange_errors[("binance", "temporary")] += 1
    stats.decision_log_write.observe(0.001)
    stats.market_data_staleness[("binance", "BTC/USDT")] = 0.0  # a live venue's feed, flowing
    requests = stats.venue_requests["binance"] = VenueRequestStats(used_weight=42.0)
    requests.latency["POST /api/v3/order"] = Histogram()
    requests.latency["POST /api/v3/order"].observe(0.02)
    return stats


class Process:
    def __init__(self, name: str, args: list[str], log: Path) -> None:
        self.name, self.log = name, log
        self._handle = log.open("wb")
        self.popen = subprocess.Popen(args, stdout=self._handle, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        self._handle.close()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:]


@dataclass
class Stack:
    stats: RuntimeStats
    exporter: MetricsServer | None  # None when the scrape target is a scheduler process
    prometheus_url: str
    alertmanager_url: str

    def reset(self) -> None:
        fresh = healthy_stats()
        for field in ("strategies", "override_active", "override_malformed", "resources", "equity"):
            setattr(self.stats, field, getattr(fresh, field))

    def query(self, expr: str) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.prometheus_url}/api/v1/query", params={"query": expr}, timeout=5).json()
        assert answer["status"] == "success", answer
        return list(answer["data"]["result"])

    def am_alerts(self, alertname: str) -> list[dict[str, Any]]:
        found = httpx.get(f"{self.alertmanager_url}/api/v2/alerts", timeout=5).json()
        return [a for a in found if a["labels"].get("alertname") == alertname]


def is_ready(url: str) -> bool:
    return httpx.get(f"{url}/-/ready").status_code == 200


def start_services(tmp: Path, target_port: int, processes: list[Process]) -> tuple[str, str]:
    """Alertmanager and Prometheus (scraping 127.0.0.1:`target_port` as job tradeops); their URLs.

    Started processes are appended to `processes` at once, so the caller's `finally` stops them.
    """
    prometheus = require_binary("prometheus")
    alertmanager = require_binary("prometheus-alertmanager")
    am_port, prom_port = free_port(), free_port()
    route = {"receiver": "null", "group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"}
    (tmp / "alertmanager.yml").write_text(yaml.safe_dump({"route": route, "receivers": [{"name": "null"}]}))
    am_args = [
        alertmanager,
        f"--config.file={tmp / 'alertmanager.yml'}",
        f"--storage.path={tmp / 'am-data'}",
        f"--web.listen-address=127.0.0.1:{am_port}",
        "--cluster.listen-address=",
    ]
    processes.append(Process("alertmanager", am_args, tmp / "alertmanager.log"))
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(fast_rules(tmp))],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
        "scrape_configs": [
            {"job_name": "tradeops", "static_configs": [{"targets": [f"127.0.0.1:{target_port}"]}]}
        ],
    }
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
    prom_args = [
        prometheus,
        f"--config.file={tmp / 'prometheus.yml'}",
        f"--storage.tsdb.path={tmp / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{prom_port}",
    ]
    processes.append(Process("prometheus", prom_args, tmp / "prometheus.log"))
    urls = (f"http://127.0.0.1:{am_port}", f"http://127.0.0.1:{prom_port}")
    for process, url in zip(processes[-2:], urls, strict=True):
        try:
            wait_until(f"{process.name} ready", functools.partial(is_ready, url))
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{process.name} log:\n{process.tail()}") from exc
    return urls[1], urls[0]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("observability")
    stats = healthy_stats()
    exporter = start_metrics_server(stats, MetricsConfig(port=0), ResourceLimits())
    processes: list[Process] = []
    try:
        prometheus_url, alertmanager_url = start_services(tmp, exporter.port, processes)
        result = Stack(stats, exporter, prometheus_url, alertmanager_url)
        wait_until("the exporter scraped", lambda: result.query('up{job="tradeops"} == 1'))
        yield result
    finally:
        for process in reversed(processes):
            process.stop()
        exporter.stop()


@pytest.fixture
def ops_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = scratch_repo(tmp_path)
    shutil.copytree(REPO / "deploy", root / "deploy")
    monkeypatch.chdir(root)
    for key, value in signing_env(tmp_path).items():
        if key.startswith("TRADEOPS_DECISION_LOG"):
            monkeypatch.setenv(key, value)
    monkeypatch.delenv("TRADEOPS_ALERTMANAGER_URL", raising=False)
    return root


def test_every_dashboard_panel_returns_data(stack: Stack) -> None:
    stack.reset()
    document = json.loads((REPO / DASHBOARD_PATH).read_text())
    queries = [(title, substitute_variables(expr)) for title, expr in panel_queries(document)]
    # rate() needs two scrapes inside its window; poll until every panel has series.
    empty = wait_until(
        "every panel query to return data",
        lambda: not [t for t, e in queries if not stack.query(e)] or None,
        timeout=DEADLINE_S,
    )
    assert empty is True


def test_healthy_runtime_raises_no_alert(stack: Stack) -> None:
    stack.reset()
    time.sleep(3)  # several evaluations with 1s `for:`
    firing = stack.query('ALERTS{alertstate="firing"}')
    assert firing == [], [f["metric"]["alertname"] for f in firing]


def silence_state(stack: Stack, alertname: str) -> tuple[str, list[str]] | None:
    alerts = stack.am_alerts(alertname)
    if not alerts:
        return None
    status = alerts[0]["status"]
    return status["state"], status["silencedBy"]


def test_fault_fires_silence_suppresses_and_unsilence_restores(
    stack: Stack, ops_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The Stage4 silence mutes the maintenance alert (kill switch engaged) and never the safety one
    (a malformed override) firing beside it."""
    stack.reset()
    stack.stats.override_active = True
    stack.stats.override_malformed = True
    alert, safety = "Stage4KillSwitchEngaged", "Stage4KillSwitchOverrideMalformed"
    wait_until(f"{alert} active in Alertmanager", lambda: silence_state(stack, alert) == ("active", []))
    wait_until(f"{safety} active in Alertmanager", lambda: silence_state(stack, safety) == ("active", []))
    [fired] = stack.am_alerts(alert)
    assert fired["labels"]["severity"] == "warning" and fired["labels"]["stage"] == "stage4"
    assert fired["annotations"]["runbook_url"].startswith("docs/runbooks/")
    [loud] = stack.am_alerts(safety)
    assert loud["labels"]["severity"] == "critical" and loud["labels"]["stage"] == "safety"

    url = stack.alertmanager_url
    command = ["alerts", "silence", "--alertmanager-url", url, "--duration", "2h", "--ticket", "INC-1"]
    assert main([*command, "--created-by", "ops", "--json"]) == 0
    created = json.loads(capsys.readouterr().out)
    silence_id = created["silence_id"]
    assert created["matchers"] == ["stage=stage4"] and created["ends_at"]
    wait_until(
        "the alert suppressed by the silence",
        lambda: silence_state(stack, alert) == ("suppressed", [silence_id]),
    )
    assert silence_state(stack, safety) == ("active", [])  # safety stays loud through the silence

    [entry] = [
        e for e in entries(ops_repo / "audit/decision_logs/stage4.jsonl") if e["kind"] == "alert_silence"
    ]
    assert entry["status"] == "silenced" and "silence" in entry["tags"]
    assert entry["artefacts"]["silence_id"] == silence_id and entry["artefacts"]["ticket"] == "INC-1"

    assert main(["alerts", "silences", "--alertmanager-url", url, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [row["id"] for row in listed] == [silence_id] and listed[0]["ends_at"] == created["ends_at"]

    assert main(["alerts", "unsilence", "--alertmanager-url", url, "--id", silence_id]) == 0
    assert "expired" in capsys.readouterr().out
    wait_until("the alert active again", lambda: silence_state(stack, alert) == ("active", []))
    statuses = [e["status"] for e in entries(ops_repo / "audit/decision_logs/stage4.jsonl")]
    assert statuses[-2:] == ["silenced", "expired"]
    assert main(["alerts", "silences", "--alertmanager-url", url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def exporter_url(stack: Stack) -> str:
    assert stack.exporter is not None
    return stack.exporter.url


def run_watch(stack: Stack, root: Path, scale: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEOPS_")}
    env["TRADEOPS_TIME_SCALE"] = scale
    command = [
        sys.executable,
        "scripts/watch_metrics_stream.py",
        "--headers-report",
        "--duration",
        "15m",
        "--url",
        exporter_url(stack),
        "--alertmanager-url",
        stack.alertmanager_url,
        "--output",
        "watch.json",
    ]
    return subprocess.Popen(
        command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_watcher_takes_new_criticals_from_alertmanager(stack: Stack, ops_repo: Path) -> None:
    stack.reset()
    stack.stats.override_malformed = True  # critical, but firing before the window opens
    wait_until(
        "pre-existing alert in Alertmanager", lambda: stack.am_alerts("Stage4KillSwitchOverrideMalformed")
    )
    watcher = run_watch(stack, ops_repo, scale="90")  # 15m in 10 s
    try:
        time.sleep(2)
        stack.stats.strategies["mean_reversion"].drawdown_ratio = 0.2  # a new critical inside the window
        out, err = watcher.communicate(timeout=DEADLINE_S)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait(timeout=10)
    assert watcher.returncode == 3, out + err
    report = json.loads((ops_repo / "watch.json").read_text())
    assert report["alert_source"]["kind"] == "alertmanager"
    new = {(a["alertname"], a["labels"].get("strategy")) for a in report["new_critical_alerts"]}
    assert new == {("Stage4StrategyDrawdownCritical", "mean_reversion")}
    old = [a for a in report["alerts"] if a["alertname"] == "Stage4KillSwitchOverrideMalformed"]
    assert old and old[0]["new"] is False


def test_watcher_with_nothing_new_exits_0(stack: Stack, ops_repo: Path) -> None:
    stack.reset()
    wait_until(
        "no critical alert left",
        lambda: (
            not [
                a
                for a in httpx.get(f"{stack.alertmanager_url}/api/v2/alerts").json()
                if a["labels"].get("severity") == "critical"
            ]
        ),
    )
    watcher = run_watch(stack, ops_repo, scale="300")  # 15m in 3 s
    out, err = watcher.communicate(timeout=DEADLINE_S)
    assert watcher.returncode == 0, out + err
    assert "verdict: no new critical alerts (exit 0)" in out


def test_runbook_step_2_the_ci_job_in_silence_mode(stack: Stack, ops_repo: Path) -> None:
    """`validate_alerts` in `silence` mode, run here: Stage4 alerts get an active silence with an expiry."""
    stack.reset()
    stack.stats.override_active = True  # Stage4KillSwitchEngaged: what step 1 of the runbook causes
    wait_until(
        "the kill-switch alert", lambda: silence_state(stack, "Stage4KillSwitchEngaged") == ("active", [])
    )
    env = {
        k: v for k, v in os.environ.items() if k.startswith("TRADEOPS_DECISION_LOG") or k in ("PATH", "HOME")
    }
    env["TRADEOPS_ALERTMANAGER_URL"] = stack.alertmanager_url  # the job's secret of the same name
    command = [sys.executable, "-m", "tradeops.cli.main", "alerts", "run-job", "--input", "mode=silence"]
    done = subprocess.run(
        [*command, "--input", "ticket=INC-42", "--input", "duration=2h"],
        cwd=ops_repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=DEADLINE_S,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "job validate_alerts: ok" in done.stdout
    record = json.loads((ops_repo / "silence.json").read_text())
    silence = httpx.get(f"{stack.alertmanager_url}/api/v2/silence/{record['silence_id']}").json()
    assert silence["status"]["state"] == "active" and silence["endsAt"] == record["ends_at"]
    assert silence["comment"].startswith("INC-42: GitHub Actions run")
    wait_until(
        "the Stage4 alert silenced",
        lambda: silence_state(stack, "Stage4KillSwitchEngaged") == ("suppressed", [record["silence_id"]]),
    )
    logged = [
        e for e in entries(ops_repo / "audit/decision_logs/stage4.jsonl") if e["kind"] == "alert_silence"
    ]
    assert logged[-1]["artefacts"]["silence_id"] == record["silence_id"]
    httpx.delete(f"{stack.alertmanager_url}/api/v2/silence/{record['silence_id']}")


def test_real_scheduler_malformed_override_fires_the_alert(tmp_path: Path) -> None:
    """A `tradeops run --run-forever` scheduler is the scrape target; the fault is a broken override file."""
    root = scratch_repo(tmp_path / "repo")
    env = signing_env(tmp_path)
    port = free_port()
    processes: list[Process] = []
    scheduler = Scheduler(root, env, extra=["--metrics-port", str(port)])
    try:
        metrics_url = f"http://127.0.0.1:{port}/metrics"
        wait_until("the scheduler's exporter", lambda: httpx.get(metrics_url).status_code == 200)
        prometheus_url, alertmanager_url = start_services(tmp_path, port, processes)
        stack = Stack(RuntimeStats("scheduler process"), None, prometheus_url, alertmanager_url)
        wait_until("cycles scraped", lambda: stack.query("sum(tradeops_strategy_cycles_total) > 0"))
        assert stack.query("max(tradeops_override_malformed) == 0")
        time.sleep(3)  # several rule evaluations over the running scheduler
        assert stack.query('ALERTS{severity="critical"}') == []
        overrides = root / "var" / "runtime" / "overrides"
        overrides.mkdir(parents=True, exist_ok=True)
        broken = overrides / "multi_strategy_disable.json"
        broken.write_text("{not json")
        broken.chmod(0o600)
        alert = "Stage4KillSwitchOverrideMalformed"
        wait_until(f"{alert} in Alertmanager", lambda: silence_state(stack, alert) == ("active", []))
        [fired] = stack.am_alerts(alert)
        assert (
            fired["labels"]["instance"] == f"127.0.0.1:{port}" and fired["labels"]["severity"] == "critical"
        )
    finally:
        scheduler.stop()
        for process in reversed(processes):
            process.stop()


def test_sigstopped_scheduler_fires_the_stalled_alert(tmp_path: Path) -> None:
    """A frozen (SIGSTOP) `--run-forever` scheduler: Prometheus fires Stage4SchedulerStalled and the
    status tools stop reporting it as running; SIGCONT brings both back."""
    root = scratch_repo(tmp_path / "repo")
    config = root / "config" / "core.yaml"
    text = config.read_text()
    assert "    interval_seconds: 1.0" in text
    config.write_text(
        text.replace("    interval_seconds: 1.0", "    interval_seconds: 0.2")
    )  # stale after 1 s
    env = signing_env(tmp_path)
    port = free_port()
    processes: list[Process] = []
    scheduler = Scheduler(root, env, extra=["--metrics-port", str(port)])

    def status() -> tuple[int, dict[str, Any]]:
        done = run([str(TRADEOPS), "kill-switch", "status", "--json"], root, env)
        return done.returncode, json.loads(done.stdout)

    try:
        metrics_url = f"http://127.0.0.1:{port}/metrics"
        wait_until("the scheduler's exporter", lambda: httpx.get(metrics_url).status_code == 200)
        prometheus_url, alertmanager_url = start_services(tmp_path, port, processes)
        stack = Stack(RuntimeStats("scheduler process"), None, prometheus_url, alertmanager_url)
        wait_until("a fresh heartbeat scraped", lambda: stack.query("tradeops_scheduler_up == 1"))
        code, view = status()
        assert code == 0 and view["status"] == "enabled" and view["observed"]["live"]
        time.sleep(2)  # several evaluations over a healthy scheduler
        assert stack.query('ALERTS{alertname="Stage4SchedulerStalled"}') == []

        os.kill(scheduler.proc.pid, signal.SIGSTOP)
        alert = "Stage4SchedulerStalled"
        wait_until(f"{alert} in Alertmanager", lambda: silence_state(stack, alert) == ("active", []))
        [fired] = stack.am_alerts(alert)
        assert fired["labels"]["stage"] == "safety" and fired["labels"]["instance"] == f"127.0.0.1:{port}"
        code, view = status()
        assert code == 3 and view["status"] == "no scheduler running" and not view["observed"]["live"]

        os.kill(scheduler.proc.pid, signal.SIGCONT)
        wait_until("the scheduler live again", lambda: status()[0] == 0)
        wait_until("the stalled alert resolved", lambda: stack.query(f'ALERTS{{alertname="{alert}"}}') == [])
    finally:
        os.kill(scheduler.proc.pid, signal.SIGCONT)
        assert scheduler.stop() == 0
        for process in reversed(processes):
            process.stop()


def test_live_venue_signals_reach_alertmanager(stack: Stack) -> None:
    """A reconcile difference and a stale live feed fire their alerts (both clear at once after)."""
    stack.reset()
    stack.stats.reconcile_diffs = 2
    stack.stats.market_data_staleness[("binance", "BTC/USDT")] = 600.0
    try:
        for alert in ("Stage4ReconcileDiff", "Stage4MarketDataStale"):
            wait_until(f"{alert} active in Alertmanager", lambda a=alert: bool(stack.am_alerts(a)))
    finally:
        stack.stats.reconcile_diffs = 0
        stack.stats.market_data_staleness[("binance", "BTC/USDT")] = 0.0
        time.sleep(2)  # the next evaluations resolve them before another test looks
