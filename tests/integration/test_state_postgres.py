"""An account on PostgreSQL: the same projection, resume and state check as on SQLite."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import port_open, require_service
from tradeops.bootstrap.engine import RunOptions, build_runtime
from tradeops.bootstrap.state_tools import Target, check_state
from tradeops.config.load import load_config

REPO = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("TRADEOPS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
LOG = Path("audit/decision_logs/binance_paper.jsonl")


@pytest.fixture
def pg_account(tmp_path, monkeypatch):
    require_service(port_open("127.0.0.1", 5432), "PostgreSQL on 127.0.0.1:5432")
    schema = f"tradeops_run_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    shutil.copytree(REPO / "config", tmp_path / "config")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRADEOPS_DECISION_LOG_KEY", "unit-test-key-0123456789")
    monkeypatch.delenv("TRADEOPS_DECISION_LOG_KEY_FILE", raising=False)
    separator = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{separator}options={quote(f'-csearch_path={schema}')}"
    cfg = load_config("config/core.yaml")
    env = cfg.environments["binance_paper"].model_copy(update={"state_url": url})
    yield cfg.model_copy(update={"environments": {**cfg.environments, "binance_paper": env}}), url
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _run(cfg, steps: int | None) -> None:
    runtime = build_runtime(RunOptions(synthetic_bars=700, kill_switch=False), cfg)
    try:
        asyncio.run(runtime.scheduler.run(max_steps=steps))
    finally:
        runtime.close()


def test_an_account_on_postgresql_resumes_and_equals_its_log(pg_account) -> None:
    cfg, url = pg_account
    _run(cfg, 350)
    _run(cfg, None)
    report = check_state(Target(url, LOG))
    assert report.ok, report.differences
    assert report.tables["fills"]["store"]["rows"] > 0
    entries = [json.loads(line) for line in LOG.read_text().splitlines()]
    assert [e["status"] for e in entries if e["kind"] == "run"] == ["started", "resumed"]
    ids = [e["artefacts"]["client_order_id"] for e in entries if e["kind"] == "risk_decision"]
    assert len(ids) == len(set(ids))
