"""The acceptance stage: a scratch copy of the repository (a git repo, so "commit" and "git show"
work), the signing key, TLS material and tokens in place, a real Alertmanager and a real paper
scheduler running. Seed runbook commands then run verbatim in it."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.acceptance.venues import PaperVenue, Venue, make_venue
from tests.conftest import free_port, require_binary
from tests.integration.live import REPO, TRADEOPS, Scheduler, run, signing_env, wait_for

ALERTMANAGER_CONFIG = """\
route:
  receiver: "null"
  group_by: ["alertname"]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: "null"
"""


class Stage:
    def __init__(
        self,
        root: Path,
        env: dict[str, str],
        alertmanager_url: str,
        metrics_port: int,
        venue: Venue | None = None,
    ) -> None:
        self.root = root
        self.env = env
        self.alertmanager_url = alertmanager_url
        self.metrics_port = metrics_port
        self.venue: Venue = venue if venue is not None else PaperVenue()
        self.scheduler: Scheduler | None = None

    def sh(self, command: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run a runbook line as an operator would type it, from the repository root."""
        return subprocess.run(
            ["bash", "-c", command],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def tradeops(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run([str(TRADEOPS), *args], self.root, self.env)

    @property
    def ops_log(self) -> Path:
        return self.root / "audit" / "decision_logs" / "stage4.jsonl"

    @property
    def runtime_log(self) -> str:
        """The scheduler's decision log, relative to the repository root."""
        return f"audit/decision_logs/{self.venue.environment}.jsonl"


def _configure(root: Path, metrics_port: int, alertmanager_url: str) -> None:
    config = root / "config" / "core.yaml"
    text = config.read_text()
    text = text.replace("    port: 9464", f"    port: {metrics_port}")
    text = text.replace("  alertmanager:\n    url: null", f"  alertmanager:\n    url: {alertmanager_url}")
    config.write_text(text)


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", *args],
        cwd=root,
        check=True,
        capture_output=True,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "ops",
            "GIT_AUTHOR_EMAIL": "ops@example.invalid",
            "GIT_COMMITTER_NAME": "ops",
            "GIT_COMMITTER_EMAIL": "ops@example.invalid",
        },
    )


def _start_alertmanager(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = require_binary("prometheus-alertmanager")
    port = free_port()
    (tmp / "am").mkdir()
    (tmp / "am" / "alertmanager.yml").write_text(ALERTMANAGER_CONFIG)
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp / 'am' / 'alertmanager.yml'}",
            f"--storage.path={tmp / 'am' / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(f"{url}/-/ready", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(ready, 30, "Alertmanager to be ready")
    return proc, url


def build_stage(tmp_path: Path, venue: Venue, alertmanager_url: str) -> Stage:
    """The scratch repository configured for `venue`, committed as the baseline, with tokens and
    TLS material in place; the scheduler is not started yet (`start_scheduler`)."""
    root = tmp_path / "repo"
    root.mkdir()
    for part in ("config", "deploy", "docs"):
        shutil.copytree(REPO / part, root / part)
    (root / "scripts").symlink_to(REPO / "scripts")
    (root / ".venv").symlink_to(REPO / ".venv")
    metrics_port = free_port()
    venue.configure(root)
    _configure(root, metrics_port, alertmanager_url)
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "config", "docs")
    _git(root, "commit", "-q", "-m", "baseline")
    env = signing_env(tmp_path)
    env.update(
        # As an operator would make them (the security audit refuses weaker ones).
        TRADEOPS_SCHEDULER_TOKEN=secrets.token_urlsafe(32),
        TRADEOPS_OBSERVER_TOKEN=secrets.token_urlsafe(32),
        TRADEOPS_TIME_SCALE="300",
        TRADEOPS_ALERTMANAGER_URL=alertmanager_url,
        PATH=f"{REPO / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
        **venue.env(),
    )
    st = Stage(root, env, alertmanager_url, metrics_port, venue)
    assert st.tradeops("certs", "init").returncode == 0
    return st


def start_scheduler(st: Stage) -> None:
    st.scheduler = st.venue.start(st.root, st.env, ["--metrics-port", str(st.metrics_port)])
    wait_for(lambda: len(st.scheduler.orders()) >= 2, 90, f"the {st.venue.name} scheduler to trade")


@pytest.fixture(params=["paper", "sim"])
def venue(request: pytest.FixtureRequest) -> Iterator[Venue]:
    """What the scheduler trades: the paper venue, or binance_sim through ccxt to real simulators."""
    chosen = make_venue(request.param)
    try:
        yield chosen
    finally:
        chosen.close()


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    proc, url = _start_alertmanager(tmp_path)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def stage(tmp_path: Path, venue: Venue, alertmanager: str) -> Iterator[Stage]:
    st = build_stage(tmp_path, venue, alertmanager)
    try:
        start_scheduler(st)
        yield st
    finally:
        code = st.scheduler.stop() if st.scheduler is not None else 0
        assert code == 0, (st.root / "scheduler.out").read_text()[-2000:]


def silences(url: str) -> list[dict]:
    return httpx.get(f"{url}/api/v2/silences", timeout=5).json()


def allocation(metrics_port: int, strategy: str) -> float | None:
    """The running scheduler's configured allocation of `strategy`, from its metrics endpoint."""
    body = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
    for line in body.splitlines():
        if (
            line.startswith("tradeops_strategy_configured_allocation_ratio{")
            and f'strategy="{strategy}"' in line
        ):
            return float(line.rsplit(" ", 1)[1])
    return None


def elapsed_minutes(since: float) -> int:
    return max(1, round((time.monotonic() - since) / 60))
