"""Security baseline audit: ok for a good setup, error for each broken one in turn, warnings for
what expires soon; scopes are added to runtime.schedule.read, never narrowed."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tradeops.config.load import load_config
from tradeops.security.audit import AuditReport, run_security_audit, scheduler_scopes
from tradeops.security.certs import (
    TlsLayout,
    issue_ca,
    issue_client,
    issue_server,
    load_issued,
    write_issued,
)
from tradeops.security.tokens import hash_secret

REPO = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
TLS = Path("var/secrets/tls")
GOOD_ENV = {
    "TRADEOPS_SCHEDULER_TOKEN": "sch-Q7vT2pLm9XkR4wZs8NbC3yHd6FgJ1aUe",
    "TRADEOPS_OBSERVER_TOKEN": "obs-M5nB8xVc2ZqW7eRt4YuI1oPa9SdF3gHj",
}


class Setup:
    """A workspace (cwd) with config/, certificates valid around NOW and a 600 decision-log key."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = dict(GOOD_ENV)
        self.key_file = root / "secrets" / "decision_log.key"
        self.key_file.parent.mkdir()
        self.key_file.write_text("6f1d8a0c4b7e2f9a3c5d8e1b0a7f4c2d9e6b3a8f1c4d7e0b2a5f8c3d6e9b1a4f")
        self.key_file.chmod(0o600)
        self.env["TRADEOPS_DECISION_LOG_KEY_FILE"] = str(self.key_file)
        self.layout = TlsLayout.from_config(load_config("config/core.yaml").control_api.tls)
        self.ca = issue_ca(now=NOW - dt.timedelta(days=1))
        write_issued(self.ca, self.layout.ca_cert, self.layout.ca_key)
        write_issued(
            issue_server(self.ca, now=NOW - dt.timedelta(days=1)), TLS / "server.pem", TLS / "server.key"
        )
        write_issued(
            issue_client(self.ca, "operator", now=NOW - dt.timedelta(days=1)), *self.layout.client("operator")
        )

    def edit_config(self, old: str, new: str) -> None:
        path = self.root / "config" / "core.yaml"
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new))

    def audit(self, **kwargs: object) -> AuditReport:
        args: dict[str, object] = {
            "config_path": "config/core.yaml",
            "required_scheduler_scopes": ("runtime.schedule.write",),
            "environ": self.env,
            "now": NOW,
        } | kwargs
        return run_security_audit(load_config("config/core.yaml"), **args)  # type: ignore[arg-type]


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Setup:
    shutil.copytree(REPO / "config", tmp_path / "config")
    monkeypatch.chdir(tmp_path)
    return Setup(tmp_path)


def test_good_setup_is_ok(setup: Setup) -> None:
    report = setup.audit()
    assert report.status == "ok", report.errors + report.warnings
    body = report.to_dict()
    assert set(body) >= {"status", "errors", "warnings", "tls", "tokens", "generated_at", "config_path"}
    assert body["tls"]["key_matches_certificate"] is True
    assert body["tls"]["certificate"]["sans"] == ["127.0.0.1", "localhost"]
    assert body["tokens"]["coverage"]["runtime.schedule.write"] == ["scheduler-local"]
    assert body["tokens"]["coverage"]["runtime.schedule.read"] == ["scheduler-local", "observer"]
    tokens = {t["token_id"]: t for t in body["tokens"]["tokens"]}
    assert tokens["observer"]["source"] == "env" and tokens["observer"]["env_present"] is True
    assert body["decision_log_key"]["source"] == "file" and body["decision_log_key"]["mode"] == "600"
    assert body["resource_limits"]["configured"] is True
    assert body["generated_at"] == "2026-03-01T12:00:00Z"
    for secret in [*GOOD_ENV.values(), "k" * 32]:  # env names and ids only, never a secret value
        assert secret not in str(body)


def _rm(path: str) -> Callable[[Setup], None]:
    return lambda s: (s.root / path).unlink()


def _key_mismatch(s: Setup) -> None:
    write_issued(issue_server(s.ca, now=NOW), TLS / "other.pem", TLS / "server.key", force=True)


def _expired_server(s: Setup) -> None:
    old = issue_server(s.ca, now=NOW - dt.timedelta(days=40), days=30)
    write_issued(old, TLS / "server.pem", TLS / "server.key", force=True)


def _expired_ca(s: Setup) -> None:
    write_issued(
        issue_ca(now=NOW - dt.timedelta(days=40), days=30), TLS / "ca.pem", TLS / "ca.key", force=True
    )


def _ca_not_a_ca(s: Setup) -> None:
    shutil.copyfile(TLS / "server.pem", TLS / "ca.pem")


def _chmod(path: str, mode: int) -> Callable[[Setup], None]:
    return lambda s: (s.root / path).chmod(mode)


def _unset(name: str) -> Callable[[Setup], None]:
    return lambda s: s.env.pop(name)


def _empty_env(s: Setup) -> None:
    s.env["TRADEOPS_SCHEDULER_TOKEN"] = ""


def _inline(s: Setup) -> None:
    s.edit_config("env: TRADEOPS_OBSERVER_TOKEN", "value: observer-plain-secret")


def _no_key(s: Setup) -> None:
    s.env.pop("TRADEOPS_DECISION_LOG_KEY_FILE")


def _key_file_missing(s: Setup) -> None:
    s.key_file.unlink()


def _mtls_off(s: Setup) -> None:
    s.edit_config("require_client_cert: true", "require_client_cert: false")


def _garbage_cert(s: Setup) -> None:
    (TLS / "server.pem").write_text("not a certificate")


BROKEN: dict[str, tuple[Callable[[Setup], None], str]] = {
    "missing server certificate": (_rm("var/secrets/tls/server.pem"), "server.pem: not found"),
    "missing private key": (_rm("var/secrets/tls/server.key"), "server.key: not found"),
    "missing client CA": (_rm("var/secrets/tls/ca.pem"), "ca.pem: not found"),
    "unparsable certificate": (_garbage_cert, "not a PEM certificate"),
    "key does not match": (_key_mismatch, "does not match"),
    "expired server certificate": (_expired_server, "expired on"),
    "expired CA": (_expired_ca, "client CA var/secrets/tls/ca.pem: expired"),
    "client CA is not a CA": (_ca_not_a_ca, "not a CA certificate"),
    "private key readable by others": (_chmod("var/secrets/tls/server.key", 0o644), "chmod 600"),
    "CA key readable by group": (_chmod("var/secrets/tls/ca.key", 0o640), "CA key"),
    "client key readable by others": (_chmod("var/secrets/tls/clients/operator.key", 0o604), "client key"),
    "certificate writable by others": (_chmod("var/secrets/tls/server.pem", 0o666), "replace it"),
    "mTLS not required": (_mtls_off, "require_client_cert is false"),
    "scheduler token env missing": (_unset("TRADEOPS_SCHEDULER_TOKEN"), "grants runtime.schedule.write"),
    "scheduler token env empty": (_empty_env, "set env TRADEOPS_SCHEDULER_TOKEN"),
    "metrics token env missing": (_unset("TRADEOPS_OBSERVER_TOKEN"), "grants metrics.read"),
    "inline token": (_inline, "inline secret"),
    "decision-log key missing": (_no_key, "TRADEOPS_DECISION_LOG_KEY_FILE"),
    "decision-log key file missing": (_key_file_missing, "key file not found"),
    "decision-log key readable by others": (
        lambda s: s.key_file.chmod(0o644),
        "TRADEOPS_DECISION_LOG_KEY_FILE",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_each_broken_setup_is_an_error(setup: Setup, case: str) -> None:
    breaker, expected = BROKEN[case]
    breaker(setup)
    report = setup.audit()
    assert report.status == "error"
    assert any(expected in e for e in report.errors), report.errors


def test_expiring_soon_is_a_warning_within_the_window(setup: Setup) -> None:
    soon = issue_server(setup.ca, now=NOW - dt.timedelta(days=1), days=10)
    write_issued(soon, TLS / "server.pem", TLS / "server.key", force=True)
    report = setup.audit(warn_expiring_days=30)
    assert report.status == "warning" and "expires in 9 days" in report.warnings[0]
    assert setup.audit(warn_expiring_days=5).status == "ok"


def test_stale_client_certificate_is_a_warning_not_an_error(setup: Setup) -> None:
    write_issued(
        issue_client(setup.ca, "old", now=NOW - dt.timedelta(days=9), days=2), *setup.layout.client("old")
    )
    stranger = issue_client(issue_ca("other CA", now=NOW), "stranger", now=NOW)
    write_issued(stranger, *setup.layout.client("stranger"))
    report = setup.audit()
    assert report.status == "warning"
    assert any("old.pem: expired" in w for w in report.warnings)
    assert any("stranger.pem: not issued by the current client CA" in w for w in report.warnings)


def test_stored_hash_covers_a_scope(setup: Setup) -> None:
    setup.edit_config("env: TRADEOPS_SCHEDULER_TOKEN", f"hash: {hash_secret('s' * 32)}")
    setup.env.pop("TRADEOPS_SCHEDULER_TOKEN")
    report = setup.audit()
    assert report.status == "ok", report.errors
    tokens = {t["token_id"]: t for t in report.tokens["tokens"]}
    assert tokens["scheduler-local"]["source"] == "hash"


def test_decision_log_key_from_env_is_accepted(setup: Setup) -> None:
    setup.env.pop("TRADEOPS_DECISION_LOG_KEY_FILE")
    setup.env["TRADEOPS_DECISION_LOG_KEY"] = "Zp3Kq8Wm1Xv6Tn9Rb4Yc7Ld2Hf5Js0Ga8Ue3Io6"
    assert setup.audit().decision_log_key["source"] == "env"
    assert setup.audit().status == "ok"


def test_given_scopes_add_to_read_instead_of_replacing_it(setup: Setup) -> None:
    assert scheduler_scopes(["runtime.schedule.write"]) == ("runtime.schedule.read", "runtime.schedule.write")
    assert scheduler_scopes([]) == ("runtime.schedule.read", "runtime.schedule.write")
    assert scheduler_scopes(["core_multi_pipeline:runtime.override.write"]) == (
        "runtime.schedule.read",
        "runtime.override.write",
    )
    # Only a write-scoped token is usable: read stays required, so the audit fails (the origin passed).
    setup.env.pop("TRADEOPS_OBSERVER_TOKEN")
    setup.edit_config(
        "scopes: [runtime.schedule.read, runtime.schedule.write, runtime.override.write]",
        "scopes: [runtime.schedule.write]",
    )
    report = setup.audit(metrics_scopes=())
    assert report.status == "error"
    assert any("grants runtime.schedule.read" in e for e in report.errors)


def test_resource_limits_absence_is_reported(setup: Setup) -> None:
    path = setup.root / "config" / "core.yaml"
    lines = path.read_text().splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.strip() == "resource_limits:")
    end = start + 1
    while lines[end].startswith("    "):
        end += 1
    path.write_text("".join(lines[:start] + lines[end:]))
    report = setup.audit()
    assert report.resource_limits["configured"] is False
    assert report.status == "warning"


def test_audit_reads_the_process_environment_by_default(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in setup.env.items():
        monkeypatch.setenv(name, value)
    report = run_security_audit(
        load_config("config/core.yaml"), config_path="config/core.yaml", required_scheduler_scopes=(), now=NOW
    )
    assert report.status == "ok", report.errors
    assert os.environ["TRADEOPS_SCHEDULER_TOKEN"] == GOOD_ENV["TRADEOPS_SCHEDULER_TOKEN"]
    assert load_issued(TLS / "server.pem", TLS / "server.key")
