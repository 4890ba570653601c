"""The security audit judges strength: weak tokens and keys are errors (issue 14: a 1-character API
token and a 3-byte HMAC key used to pass with a warning)."""

from __future__ import annotations

import secrets

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.unit.test_security_audit import TLS, Setup
from tests.unit.test_security_audit import setup as setup  # fixture
from tradeops.security.strength import estimate_entropy_bits


@pytest.mark.parametrize("weak", ["x", "s3cr3t-scheduler-token", "a" * 200, "abc" * 40, "password1234567890"])
def test_weak_token_secret_is_an_error(setup: Setup, weak: str) -> None:
    setup.env["TRADEOPS_OBSERVER_TOKEN"] = weak
    report = setup.audit()
    assert report.status == "error"
    assert any("TRADEOPS_OBSERVER_TOKEN is weak" in e and "token_urlsafe" in e for e in report.errors)


@pytest.mark.parametrize(("key", "why"), [("abc", "3 bytes"), ("k" * 40, "low-entropy"), ("", "empty")])
def test_weak_hmac_key_is_an_error(setup: Setup, key: str, why: str) -> None:
    setup.key_file.write_text(key)
    report = setup.audit()
    assert report.status == "error" and any(why in e for e in report.errors), report.errors
    setup.env.pop("TRADEOPS_DECISION_LOG_KEY_FILE")
    setup.env["TRADEOPS_DECISION_LOG_KEY"] = key or " "
    assert setup.audit().status == "error"


def test_thresholds_are_configurable(setup: Setup) -> None:
    setup.key_file.write_text(secrets.token_hex(12))  # 24 bytes
    assert any("24 bytes" in e for e in setup.audit().errors)
    setup.edit_config(
        "control_api:\n", "security: {min_hmac_key_bytes: 16, min_token_entropy_bits: 64}\ncontrol_api:\n"
    )
    assert setup.audit().status == "ok"


def test_generated_secrets_pass_and_patterns_do_not() -> None:
    assert estimate_entropy_bits(secrets.token_urlsafe(32)) >= 128
    assert estimate_entropy_bits(secrets.token_hex(32)) >= 128
    assert estimate_entropy_bits(secrets.token_bytes(32)) >= 128
    assert estimate_entropy_bits("0123456789" * 10) < 128
    assert estimate_entropy_bits("") == 0


def test_weak_tls_key_and_mismatched_ca_key_are_errors(setup: Setup) -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = weak.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (TLS / "ca.key").write_bytes(pem)
    (TLS / "ca.key").chmod(0o600)
    report = setup.audit()
    assert any("RSA key of 1024 bits" in e for e in report.errors)
    assert any("ca.key does not match" in e for e in report.errors)
