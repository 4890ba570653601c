"""Security baseline audit: the control API's mTLS material, token coverage, the decision-log key.

Unlike the origin, the audit covers the TLS files the API really serves with (paths relative to
the working directory, as the server resolves them), treats an uncovered required scope and a
missing signing key as errors, and its CLI exits non-zero whenever the status is `error`.

It judges strength, and weak is an error: a token secret below `security.min_token_entropy_bits`
(estimated, see tradeops.security.strength), an HMAC key shorter than
`security.min_hmac_key_bytes` or below the same entropy floor, a key file or TLS key readable by
group/others, a TLS key below RSA 2048 / EC 256 bits, an expired certificate, a certificate or CA
whose private key does not match it, a server certificate not issued by the configured CA.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509

from tradeops.config.models import AppConfig
from tradeops.domain.errors import UserInputError
from tradeops.security import certs
from tradeops.security.strength import GENERATE_HINT, estimate_entropy_bits
from tradeops.security.tokens import ResolvedToken, resolve_tokens

SCHEDULER_READ = "runtime.schedule.read"
DEFAULT_SCHEDULER_SCOPES: tuple[str, ...] = (SCHEDULER_READ, "runtime.schedule.write")
DEFAULT_METRICS_SCOPES: tuple[str, ...] = ("metrics.read",)
DEFAULT_WARN_EXPIRING_DAYS = 30
KEY_ENV = "TRADEOPS_DECISION_LOG_KEY"
KEY_FILE_ENV = "TRADEOPS_DECISION_LOG_KEY_FILE"
MIN_RSA_BITS = 2048
MIN_EC_BITS = 256


@dataclass
class Findings:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def error(self, message: str) -> None:
        self.errors.append(message)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def section(self) -> dict[str, list[str]]:
        return {"errors": list(self.errors), "warnings": list(self.warnings)}


@dataclass(frozen=True)
class AuditReport:
    status: str  # ok | warning | error
    errors: tuple[str, ...]
    warnings: tuple[str, ...]
    tls: dict[str, Any]
    tokens: dict[str, Any]
    decision_log_key: dict[str, Any]
    resource_limits: dict[str, Any]
    generated_at: str
    config_path: str
    live_venues: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "errors": list(self.errors),
            "warnings": list(self.warnings),
            "tls": self.tls,
            "tokens": self.tokens,
            "decision_log_key": self.decision_log_key,
            "resource_limits": self.resource_limits,
            "generated_at": self.generated_at,
            "config_path": self.config_path,
            "live_venues": self.live_venues,
        }


def scheduler_scopes(given: Sequence[str]) -> tuple[str, ...]:
    """Scopes the scheduler needs: runtime.schedule.read plus the given ones (default: + write).

    The origin's `SCHEDULER:scope` form is accepted; every scheduler shares the API's tokens."""
    wanted = [s.rsplit(":", 1)[-1].strip().lower() for s in given if s.strip()]
    wanted = wanted or list(DEFAULT_SCHEDULER_SCOPES)
    return tuple(dict.fromkeys([SCHEDULER_READ, *wanted]))


# --- file helpers ---------------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _file_facts(path: Path) -> dict[str, Any]:
    facts: dict[str, Any] = {"path": str(path), "exists": path.is_file()}
    if facts["exists"]:
        facts["mode"] = f"{_mode(path):03o}"
    return facts


def _check_secret_mode(path: Path, label: str, findings: Findings) -> None:
    mode = _mode(path)
    if mode & 0o077:
        findings.error(f"{label} {path}: mode {mode:03o} lets group/others read it; run `chmod 600 {path}`")


def _check_public_mode(path: Path, label: str, findings: Findings) -> None:
    mode = _mode(path)
    if mode & 0o022:
        findings.error(
            f"{label} {path}: mode {mode:03o} lets group/others replace it; run `chmod 600 {path}`"
        )


def _check_validity(info: Mapping[str, Any], label: str, warn_days: int, findings: Findings) -> None:
    where = f"{label} {info['path']}"
    if info["expired"]:
        findings.error(f"{where}: expired on {info['not_after']}; run `tradeops certs rotate`")
    elif info["not_yet_valid"]:
        findings.error(f"{where}: not valid before {info['not_before']}")
    elif info["days_left"] < warn_days:
        findings.warn(f"{where}: expires in {info['days_left']} days ({info['not_after']})")


def _load_cert(
    path: Path, label: str, now: dt.datetime, findings: Findings
) -> tuple[dict[str, Any], x509.Certificate | None]:
    facts = _file_facts(path)
    if not facts["exists"]:
        findings.error(f"{label} {path}: not found; run `tradeops certs init`")
        return facts, None
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except ValueError as exc:
        findings.error(f"{label} {path}: not a PEM certificate ({exc})")
        return facts | {"parsed": False}, None
    _check_public_mode(path, label, findings)
    return facts | {"parsed": True} | certs.describe(cert, now), cert


# --- sections -------------------------------------------------------------------------------------


def _audit_tls(cfg: AppConfig, now: dt.datetime, warn_days: int) -> dict[str, Any]:
    tls = cfg.control_api.tls
    layout = certs.TlsLayout.from_config(tls)
    findings = Findings()
    if not tls.require_client_cert:
        findings.error("control_api.tls.require_client_cert is false: mTLS is off; set it to true")
    server_info, server = _load_cert(layout.server_cert, "control_api.tls.certificate", now, findings)
    ca_info, ca = _load_cert(layout.ca_cert, "control_api.tls.client_ca", now, findings)
    for info, cert in ((server_info, server), (ca_info, ca)):
        if cert is not None:
            _check_validity(info, "certificate" if cert is server else "client CA", warn_days, findings)
    if ca is not None and not certs.is_ca(ca):
        findings.error(f"control_api.tls.client_ca {layout.ca_cert}: not a CA certificate")
    key_info = _file_facts(layout.server_key)
    matches: bool | None = None
    if not key_info["exists"]:
        findings.error(
            f"control_api.tls.private_key {layout.server_key}: not found; run `tradeops certs init`"
        )
    else:
        _check_secret_mode(layout.server_key, "control_api.tls.private_key", findings)
        try:
            key = certs.load_private_key(layout.server_key)
            key_info["parsed"] = True
            _check_key_strength(key, f"control_api.tls.private_key {layout.server_key}", findings)
            if server is not None:
                matches = certs.key_matches(server, key)
        except (UserInputError, OSError) as exc:  # an unreadable key is a finding, never a crash
            key_info["parsed"] = False
            findings.error(str(exc))
    if matches is False:
        findings.error(
            f"control_api.tls.private_key {layout.server_key} does not match {layout.server_cert}; "
            "run `tradeops certs rotate`"
        )
    if server is not None and cfg.control_api.host not in server_info["sans"]:
        findings.warn(
            f"{layout.server_cert}: SANs {server_info['sans']} do not include {cfg.control_api.host}"
        )
    ca_key = _file_facts(layout.ca_key)
    if ca_key["exists"]:
        _check_secret_mode(layout.ca_key, "CA key", findings)
        ca_key["matches_certificate"] = _check_ca_key(layout, ca, findings)
    return {
        "require_client_cert": tls.require_client_cert,
        "certificate": server_info,
        "private_key": key_info,
        "client_ca": ca_info,
        "ca_key": ca_key,
        "key_matches_certificate": matches,
        "clients": _audit_clients(layout, ca, now, warn_days, findings),
        **findings.section(),
    }


def _check_key_strength(key: Any, where: str, findings: Findings) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if isinstance(key, rsa.RSAPrivateKey) and key.key_size < MIN_RSA_BITS:
        findings.error(
            f"{where}: RSA key of {key.key_size} bits; at least {MIN_RSA_BITS} (tradeops certs rotate)"
        )
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size < MIN_EC_BITS:
        findings.error(
            f"{where}: EC key of {key.curve.key_size} bits; at least {MIN_EC_BITS} (tradeops certs rotate)"
        )


def _check_ca_key(layout: certs.TlsLayout, ca: x509.Certificate | None, findings: Findings) -> bool | None:
    """The CA key beside the CA certificate must be that certificate's key (or issuing fails)."""
    try:
        key = certs.load_private_key(layout.ca_key)
    except (UserInputError, OSError) as exc:
        findings.error(f"CA key: {exc}")
        return None
    _check_key_strength(key, f"CA key {layout.ca_key}", findings)
    if ca is None:
        return None
    matches = certs.key_matches(ca, key)
    if not matches:
        findings.error(
            f"CA key {layout.ca_key} does not match {layout.ca_cert}; run `tradeops certs init --force`"
        )
    return matches


def _audit_clients(
    layout: certs.TlsLayout, ca: x509.Certificate | None, now: dt.datetime, warn_days: int, findings: Findings
) -> list[dict[str, Any]]:
    """Client certificates are the operators' keys: a stale one is a warning, a readable key an error."""
    rows: list[dict[str, Any]] = []
    for path in layout.client_certs():
        local = Findings()
        info, cert = _load_cert(path, "client certificate", now, local)
        if cert is not None:
            _check_validity(info, "client certificate", warn_days, local)
            info["signed_by_client_ca"] = ca is not None and certs.signed_by(cert, ca)
            if ca is not None and not info["signed_by_client_ca"]:
                local.warn(
                    f"client certificate {path}: not issued by the current client CA (will be refused)"
                )
        key = path.with_suffix(".key")
        if key.exists():
            _check_secret_mode(key, "client key", findings)
        findings.warnings.extend(local.errors + local.warnings)  # a client problem never blocks the API
        rows.append(info)
    return rows


def _audit_tokens(
    cfg: AppConfig, environ: Mapping[str, str], required: Mapping[str, Sequence[str]]
) -> dict[str, Any]:
    findings = Findings()
    resolved = resolve_tokens(cfg.control_api.tokens, environ)
    seen: set[str] = set()
    for token in resolved:
        label = f"control_api.tokens[{token.token_id}]"
        if token.token_id in seen:
            findings.error(f"{label}: duplicate token id")
        seen.add(token.token_id)
        if token.source in ("inline", "none") or (token.problem and token.source == "hash"):
            findings.error(f"{label}: {token.problem}")
        elif token.problem:
            findings.warn(f"{label}: {token.problem}")
        if token.source == "env" and token.usable and token.token_env:
            bits = estimate_entropy_bits(environ.get(token.token_env, ""))
            if bits < cfg.security.min_token_entropy_bits:
                findings.error(
                    f"{label}: secret in env {token.token_env} is weak (about {bits} bits; "
                    f"security.min_token_entropy_bits is {cfg.security.min_token_entropy_bits}); "
                    + GENERATE_HINT
                )
    services: dict[str, Any] = {}
    coverage: dict[str, list[str]] = {}
    for service, scopes in required.items():
        service_cov = {scope: _covering(resolved, scope) for scope in scopes}
        services[service] = {"required_scopes": list(scopes), "coverage": service_cov}
        coverage |= service_cov
        for scope, ids in service_cov.items():
            if not ids:
                findings.error(
                    f"{service}: no token with a present secret grants {scope}{_hint(resolved, scope)}"
                )
    return {
        "services": services,
        "coverage": coverage,
        "tokens": [t.to_dict() for t in resolved],
        **findings.section(),
    }


def _covering(tokens: Sequence[ResolvedToken], scope: str) -> list[str]:
    return [t.token_id for t in tokens if t.usable and scope in t.scopes]


def _hint(tokens: Sequence[ResolvedToken], scope: str) -> str:
    envs = [t.token_env for t in tokens if scope in t.scopes and t.source == "env" and t.token_env]
    return (
        f" (set env {' or '.join(envs)})" if envs else " (add a token with this scope to control_api.tokens)"
    )


def _judge_key(secret: bytes, where: str, cfg: AppConfig, findings: Findings) -> bool:
    """Error unless `secret` is long and varied enough to be an HMAC key; True when it is."""
    minimum = cfg.security.min_hmac_key_bytes
    if not secret:
        findings.error(f"{where}: key is empty; {GENERATE_HINT}")
        return False
    if len(secret) < minimum:
        findings.error(
            f"{where}: key is {len(secret)} bytes; security.min_hmac_key_bytes is {minimum}; {GENERATE_HINT}"
        )
        return False
    bits = estimate_entropy_bits(secret)
    if bits < cfg.security.min_token_entropy_bits:
        findings.error(
            f"{where}: key looks low-entropy (about {bits} bits; at least "
            f"{cfg.security.min_token_entropy_bits}); {GENERATE_HINT}"
        )
        return False
    return True


def _audit_decision_log_key(cfg: AppConfig, environ: Mapping[str, str]) -> dict[str, Any]:
    findings = Findings()
    key_file = environ.get(KEY_FILE_ENV, "")
    if key_file:
        path = Path(key_file)
        facts = {"source": "file", "env": KEY_FILE_ENV} | _file_facts(path)
        if not facts["exists"]:
            findings.error(f"{KEY_FILE_ENV}={path}: key file not found")
        else:
            _check_secret_mode(path, f"{KEY_FILE_ENV}", findings)
            try:
                secret = path.read_bytes().strip()
            except OSError as exc:
                findings.error(f"{KEY_FILE_ENV}={path}: cannot read the key ({exc.strerror})")
            else:
                facts["length_ok"] = _judge_key(secret, f"{KEY_FILE_ENV}={path}", cfg, findings)
        return facts | findings.section()
    if environ.get(KEY_ENV):
        ok = _judge_key(environ[KEY_ENV].strip().encode(), KEY_ENV, cfg, findings)
        return {"source": "env", "env": KEY_ENV, "length_ok": ok} | findings.section()
    findings.error(
        f"decision-log signing key missing: set {KEY_FILE_ENV} (a file with mode 600) or {KEY_ENV}"
    )
    return {"source": "missing"} | findings.section()


def _audit_resource_limits(cfg: AppConfig) -> dict[str, Any]:
    configured = "resource_limits" in cfg.runtime.model_fields_set
    findings = Findings()
    if not configured:
        findings.warn("runtime.resource_limits is not set in the config; built-in defaults apply")
    return {"configured": configured, **cfg.runtime.resource_limits.model_dump(), **findings.section()}


def _audit_live_venues(cfg: AppConfig, environ: Mapping[str, str], config_path: Path) -> dict[str, Any]:
    """Live environments: key env vars set (values never reported), no key value pasted into the
    config file. Missing keys are listed per environment, and are an error once a real-money
    environment is armed (confirm_live: true); unarmed ones cannot start without them anyway."""
    from tradeops.config.live import is_real_money, missing_keys

    findings = Findings()
    text = config_path.read_text(encoding="utf-8", errors="replace") if config_path.is_file() else ""
    report: dict[str, Any] = {}
    for name, env in cfg.environments.items():
        if env.mode != "live":
            continue
        missing = missing_keys(name, env, environ)
        armed = env.confirm_live and any(is_real_money(v) for v in env.venues.values())
        if armed:
            for line in missing:
                findings.error(f"{line} (confirm_live is true: the environment cannot start)")
        for venue_name, venue in env.venues.items():
            for var in (venue.api_key_env, venue.secret_env):
                value = environ.get(var or "", "")
                if len(value) >= 8 and value in text:
                    findings.error(
                        f"{config_path}: the value of {var} (environments.{name}.venues.{venue_name}) "
                        "appears in the config file; keep keys only in the environment and rotate it"
                    )
        report[name] = {
            "keys_present": not missing,
            "missing": missing,
            "real_money": any(is_real_money(v) for v in env.venues.values()),
            "confirm_live": env.confirm_live,
            "max_order_notional": env.max_order_notional,
        }
    return {"environments": report, **findings.section()}


# --- entry ----------------------------------------------------------------------------------------


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def run_security_audit(
    cfg: AppConfig,
    *,
    config_path: str | Path,
    required_scheduler_scopes: Sequence[str] = (),
    metrics_scopes: Sequence[str] = DEFAULT_METRICS_SCOPES,
    warn_expiring_days: int = DEFAULT_WARN_EXPIRING_DAYS,
    environ: Mapping[str, str] | None = None,
    now: dt.datetime | None = None,
) -> AuditReport:
    """Audit `cfg` and the environment; status is error/warning/ok by the worst finding."""
    env = os.environ if environ is None else environ
    moment = now or certs.utc_now()
    required = {
        "scheduler": scheduler_scopes(required_scheduler_scopes),
        "metrics": tuple(dict.fromkeys(s.strip().lower() for s in metrics_scopes if s.strip())),
    }
    sections = {
        "tls": _audit_tls(cfg, moment, warn_expiring_days),
        "tokens": _audit_tokens(cfg, env, required),
        "decision_log_key": _audit_decision_log_key(cfg, env),
        "resource_limits": _audit_resource_limits(cfg),
        "live_venues": _audit_live_venues(cfg, env, Path(config_path)),
    }
    errors = tuple(e for s in sections.values() for e in s["errors"])
    warnings = tuple(w for s in sections.values() for w in s["warnings"])
    status = "error" if errors else "warning" if warnings else "ok"
    return AuditReport(
        status=status,
        errors=errors,
        warnings=warnings,
        generated_at=_iso(moment),
        config_path=str(config_path),
        **sections,
    )
