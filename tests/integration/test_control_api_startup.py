"""The server refuses to start without mTLS material or a usable token, unless --insecure-dev
(loopback only, warning repeated while it runs); the CLI reports a refusal in one line."""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

import pytest

from tests.integration.test_control_api_support import REPO, TOKEN_ENV, make_workspace, running_api
from tradeops.cli.main import main
from tradeops.config.load import load_config
from tradeops.control_api.app import INSECURE_WARNING
from tradeops.control_api.server import startup_check
from tradeops.domain.errors import UserInputError


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root, _, _ = make_workspace(tmp_path)
    monkeypatch.chdir(root)
    return root


def test_complete_material_gives_a_context_requiring_client_certificates(workspace: Path) -> None:
    import ssl

    context = startup_check(load_config("config/core.yaml"), TOKEN_ENV, insecure_dev=False, host="127.0.0.1")
    assert context is not None
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2


@pytest.mark.parametrize("missing", ["server.pem", "server.key", "ca.pem"])
def test_refuses_without_tls_file(workspace: Path, missing: str) -> None:
    (workspace / "var" / "secrets" / "tls" / missing).unlink()
    with pytest.raises(UserInputError, match=f"refuses to start: .*{missing}: not found"):
        startup_check(load_config("config/core.yaml"), TOKEN_ENV, insecure_dev=False, host="127.0.0.1")


def test_refuses_without_a_token_secret(workspace: Path) -> None:
    env = {k: v for k, v in TOKEN_ENV.items() if not k.endswith("_TOKEN")}
    with pytest.raises(UserInputError, match="TRADEOPS_SCHEDULER_TOKEN"):
        startup_check(load_config("config/core.yaml"), env, insecure_dev=False, host="127.0.0.1")


def test_refuses_when_client_certificates_are_not_required(workspace: Path) -> None:
    path = workspace / "config" / "core.yaml"
    path.write_text(path.read_text().replace("require_client_cert: true", "require_client_cert: false"))
    with pytest.raises(UserInputError, match="require_client_cert"):
        startup_check(load_config(path), TOKEN_ENV, insecure_dev=False, host="127.0.0.1")


def test_insecure_dev_starts_without_material_but_only_on_loopback(workspace: Path) -> None:
    shutil.rmtree(workspace / "var" / "secrets")
    cfg = load_config("config/core.yaml")
    assert startup_check(cfg, {}, insecure_dev=True, host="127.0.0.1") is None
    with pytest.raises(UserInputError, match="loopback"):
        startup_check(cfg, {}, insecure_dev=True, host="0.0.0.0")


def test_cli_refusal_is_one_line_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(REPO / "config", tmp_path / "config")
    monkeypatch.chdir(tmp_path)
    assert main(["api", "serve", "--port", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: control API refuses to start")


def test_insecure_dev_server_without_tokens_serves_plain_http_and_keeps_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import httpx

    env = {"TRADEOPS_DECISION_LOG_KEY": TOKEN_ENV["TRADEOPS_DECISION_LOG_KEY"]}
    caplog.set_level(logging.WARNING, logger="tradeops.control_api")
    with running_api(
        tmp_path, environ=env, insecure_dev=True, insecure_warning_interval_s=0.05, tls_material=False
    ) as api:
        assert api.base_url.startswith("http://")
        with httpx.Client(base_url=api.base_url) as client:  # no token configured: let through
            assert client.get("/v1/status").status_code == 200
        deadline = time.monotonic() + 10
        while (
            sum(r.getMessage() == INSECURE_WARNING for r in caplog.records) < 2
            and time.monotonic() < deadline
        ):
            time.sleep(0.02)
    assert sum(r.getMessage() == INSECURE_WARNING for r in caplog.records) >= 2


def test_tokens_stay_enforced_in_insecure_dev_when_a_secret_is_present(tmp_path: Path) -> None:
    with running_api(tmp_path, insecure_dev=True) as api:
        assert api.client().get("/v1/status").status_code == 401


def test_cli_serve_runs_niced_with_mtls_and_stops_cleanly(tmp_path: Path) -> None:
    """`tradeops api serve` as an operator starts it: its own process, env tokens, SIGINT to stop."""
    import os
    import signal
    import subprocess
    import sys

    import httpx

    from tests.conftest import free_port
    from tests.integration.test_control_api_support import SCHEDULER_SECRET
    from tradeops.control_api.tls import client_context

    root, layout, _ = make_workspace(tmp_path)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEOPS_")} | TOKEN_ENV
    argv = [sys.executable, "-m", "tradeops.cli.main", "api", "serve", "--port", str(port)]
    server = subprocess.Popen(argv, cwd=root, env=env, stderr=subprocess.PIPE, text=True)
    tls = client_context(layout.ca_cert, *layout.client("operator"))
    try:
        with httpx.Client(base_url=f"https://127.0.0.1:{port}", verify=tls, timeout=5) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    ready = client.get("/ready")
                    break
                except httpx.TransportError:
                    assert server.poll() is None and time.monotonic() < deadline, "server did not start"
                    time.sleep(0.1)
            assert ready.json() == {
                "status": "ready",
                "checks": {"state_store": "ok", "decision_log_key": "ok", "tokens": "ok"},
            }
            auth = {"Authorization": f"Bearer {SCHEDULER_SECRET}"}
            assert client.get("/v1/status", headers=auth).json()["environment"] == "binance_paper"
        assert os.getpriority(os.PRIO_PROCESS, server.pid) == 10  # control_api.nice
    finally:
        server.send_signal(signal.SIGINT)
        _, err = server.communicate(timeout=30)
    assert server.returncode == 130, err  # Ctrl-C: graceful shutdown, then the usual 130
    assert f"control API on https://127.0.0.1:{port}" in err
    assert "Application shutdown complete" in err
