"""Certificate tooling: chain, SANs, usages, validity, files 600, no silent overwrite, rotation."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from tradeops.cli.main import main
from tradeops.domain.errors import AlreadyExists
from tradeops.security.certs import (
    describe,
    issue_ca,
    issue_client,
    issue_server,
    key_matches,
    load_certificate,
    load_issued,
    sans_of,
    signed_by,
    write_issued,
)

REPO = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
TLS_DIR = Path("var/secrets/tls")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def eku(cert: x509.Certificate) -> list[x509.ObjectIdentifier]:
    return list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def test_chain_sans_and_usages() -> None:
    ca = issue_ca(now=NOW)
    server = issue_server(ca, now=NOW)
    client = issue_client(ca, "alice", now=NOW)
    other = issue_ca("other", now=NOW)
    assert signed_by(server.cert, ca.cert) and signed_by(client.cert, ca.cert)
    assert not signed_by(client.cert, other.cert)
    assert sans_of(server.cert) == ["127.0.0.1", "localhost"]
    assert eku(server.cert) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert eku(client.cert) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert describe(ca.cert, NOW)["is_ca"] is True and describe(server.cert, NOW)["is_ca"] is False
    assert describe(client.cert, NOW)["subject"] == "CN=alice,O=tradeops"
    assert key_matches(server.cert, server.key) and not key_matches(server.cert, client.key)


def test_validity_is_explicit_so_expired_certificates_can_be_made() -> None:
    ca = issue_ca(now=NOW)
    fresh = describe(issue_client(ca, "a", now=NOW, days=30).cert, NOW)
    assert fresh["days_left"] == 30 and fresh["expired"] is False
    stale = describe(issue_client(ca, "b", now=NOW - dt.timedelta(days=10), days=2).cert, NOW)
    assert stale["expired"] is True and stale["days_left"] < 0
    future = describe(issue_client(ca, "c", now=NOW + dt.timedelta(days=3)).cert, NOW)
    assert future["not_yet_valid"] is True


def test_written_files_are_600_and_never_silently_replaced(tmp_path: Path) -> None:
    ca = issue_ca(now=NOW)
    cert, key = tmp_path / "tls" / "ca.pem", tmp_path / "tls" / "ca.key"
    write_issued(ca, cert, key)
    assert mode(cert) == 0o600 and mode(key) == 0o600
    assert mode(cert.parent) == 0o700
    with pytest.raises(AlreadyExists):
        write_issued(issue_ca(now=NOW), cert, key)
    assert load_certificate(cert) == ca.cert
    write_issued(issue_ca(now=NOW), cert, key, force=True)
    assert load_certificate(cert) != ca.cert
    loaded = load_issued(cert, key)
    assert key_matches(loaded.cert, loaded.key)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "config", tmp_path / "config")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_cli_init_issue_rotate_show(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["certs", "init", "--days", "20"]) == 0
    files = ["ca.pem", "ca.key", "server.pem", "server.key", "clients/operator.pem", "clients/operator.key"]
    for name in files:
        assert mode(TLS_DIR / name) == 0o600, name
    ca = load_certificate(TLS_DIR / "ca.pem")
    assert signed_by(load_certificate(TLS_DIR / "clients/operator.pem"), ca)

    assert main(["certs", "init"]) == 1  # refuses to overwrite
    assert "--force" in capsys.readouterr().err
    assert load_certificate(TLS_DIR / "ca.pem") == ca

    assert main(["certs", "issue-client", "ops-console", "--days", "7"]) == 0
    console = load_certificate(TLS_DIR / "clients/ops-console.pem")
    assert signed_by(console, ca) and describe(console)["days_left"] in (6, 7)
    assert main(["certs", "issue-client", "../escape"]) == 2

    old_server = (TLS_DIR / "server.pem").read_bytes()
    assert main(["certs", "rotate", "--days", "90"]) == 0
    assert (TLS_DIR / "server.pem.bak").read_bytes() == old_server
    assert mode(TLS_DIR / "server.key.bak") == 0o600
    rotated = load_certificate(TLS_DIR / "server.pem")
    assert (TLS_DIR / "server.pem").read_bytes() != old_server and signed_by(rotated, ca)
    assert sans_of(rotated) == ["127.0.0.1", "localhost"]
    assert load_certificate(TLS_DIR / "ca.pem") == ca  # CA kept without --ca

    assert describe(rotated)["days_left"] in (89, 90)
    assert main(["certs", "rotate", "--ca", "--days", "45"]) == 0
    new_ca = load_certificate(TLS_DIR / "ca.pem")
    assert new_ca != ca and load_certificate(TLS_DIR / "ca.pem.bak") == ca
    assert signed_by(load_certificate(TLS_DIR / "server.pem"), new_ca)

    capsys.readouterr()
    assert main(["certs", "show", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert set(shown) == {
        str(TLS_DIR / "ca.pem"),
        str(TLS_DIR / "server.pem"),
        str(TLS_DIR / "clients/operator.pem"),
        str(TLS_DIR / "clients/ops-console.pem"),
    }
    server = shown[str(TLS_DIR / "server.pem")]
    assert server["days_left"] in (44, 45) and len(server["fingerprint_sha256"].split(":")) == 32
    assert main(["certs", "show"]) == 0
    text = capsys.readouterr().out
    assert "fingerprint_sha256:" in text and "sans: 127.0.0.1, localhost" in text


def test_issue_client_without_ca_is_one_line_error(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["certs", "issue-client", "alice"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "tradeops certs init" in err[0]
