"""Local certificate authority for the control API's mTLS: CA, server and client certificates.

Keys are ECDSA P-256 (fast to generate and to handshake). Every file is written atomically with
mode 600 and never overwritten unless asked. Validity is explicit (`now`, `days`), so tests can
issue certificates that are already expired.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tradeops.config.models import TlsConfig
from tradeops.domain.errors import AlreadyExists, UserInputError
from tradeops.fsutil import atomic_write_bytes

DEFAULT_SANS: tuple[str, ...] = ("127.0.0.1", "localhost")
DEFAULT_DAYS = 365
DEFAULT_CA_DAYS = 3650
SECRET_MODE = 0o600
SECRET_DIR_MODE = 0o700
BACKDATE = dt.timedelta(minutes=5)  # tolerate small clock skew between machines


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Issued:
    """A certificate with its private key."""

    cert: x509.Certificate
    key: CertificateIssuerPrivateKeyTypes

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


@dataclass(frozen=True)
class TlsLayout:
    """Where the files live: the three paths of control_api.tls plus the CA key and client certs."""

    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    clients_dir: Path

    @classmethod
    def from_config(cls, tls: TlsConfig) -> TlsLayout:
        ca = Path(tls.client_ca)
        return cls(
            ca_cert=ca,
            ca_key=ca.with_suffix(".key"),
            server_cert=Path(tls.certificate),
            server_key=Path(tls.private_key),
            clients_dir=ca.parent / "clients",
        )

    def client(self, name: str) -> tuple[Path, Path]:
        check_client_name(name)
        return self.clients_dir / f"{name}.pem", self.clients_dir / f"{name}.key"

    def client_certs(self) -> list[Path]:
        return sorted(self.clients_dir.glob("*.pem")) if self.clients_dir.is_dir() else []


def check_client_name(name: str) -> str:
    if not name or not all(c.isalnum() or c in "-_." for c in name) or name.startswith("."):
        raise UserInputError(f"client name {name!r}: use letters, digits, '-', '_' or '.'")
    return name


def _name(common_name: str, organization: str = "tradeops") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _validity(now: dt.datetime | None, days: int) -> tuple[dt.datetime, dt.datetime]:
    if days <= 0:
        raise UserInputError(f"--days {days}: must be a positive number of days")
    start = (now or utc_now()) - BACKDATE
    return start, start + BACKDATE + dt.timedelta(days=days)


def _builder(
    subject: x509.Name,
    issuer: Issued | None,
    key: ec.EllipticCurvePrivateKey,
    now: dt.datetime | None,
    days: int,
) -> x509.CertificateBuilder:
    not_before, not_after = _validity(now, days)
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )
    if issuer is not None:
        ski = issuer.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
    return builder


def _leaf_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=True,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def issue_ca(
    common_name: str = "tradeops local CA", *, now: dt.datetime | None = None, days: int = DEFAULT_CA_DAYS
) -> Issued:
    """A self-signed CA that may sign leaf certificates only (path length 0)."""
    key = ec.generate_private_key(ec.SECP256R1())
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
    cert = (
        _builder(_name(common_name), None, key, now, days)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage, critical=True)
        .sign(key, hashes.SHA256())
    )
    return Issued(cert, key)


def _general_name(san: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(san))
    except ValueError:
        return x509.DNSName(san)


def issue_server(
    ca: Issued,
    *,
    sans: Sequence[str] = DEFAULT_SANS,
    common_name: str = "tradeops control API",
    now: dt.datetime | None = None,
    days: int = DEFAULT_DAYS,
) -> Issued:
    """A server certificate for `sans` (IP addresses or DNS names), signed by `ca`."""
    if not sans:
        raise UserInputError("--san: give at least one IP address or DNS name")
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        _builder(_name(common_name), ca, key, now, days)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_leaf_usage(), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([_general_name(s) for s in sans]), critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    return Issued(cert, key)


def issue_client(
    ca: Issued, name: str, *, now: dt.datetime | None = None, days: int = DEFAULT_DAYS
) -> Issued:
    """A client certificate with CN=`name`, signed by `ca`; its subject is recorded with every write."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        _builder(_name(check_client_name(name)), ca, key, now, days)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_leaf_usage(), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    return Issued(cert, key)


# --- files ----------------------------------------------------------------------------------------


def write_issued(issued: Issued, cert_path: Path, key_path: Path, *, force: bool = False) -> None:
    """Write key then certificate (mode 600 each); refuse to replace existing files unless `force`."""
    if not force:
        existing = [str(p) for p in (cert_path, key_path) if p.exists()]
        if existing:
            raise AlreadyExists(f"{', '.join(existing)} already exist(s); pass --force to replace")
    for directory in {cert_path.parent, key_path.parent}:
        directory.mkdir(mode=SECRET_DIR_MODE, parents=True, exist_ok=True)
    atomic_write_bytes(key_path, issued.key_pem(), mode=SECRET_MODE)
    atomic_write_bytes(cert_path, issued.cert_pem(), mode=SECRET_MODE)


def backup(path: Path) -> Path | None:
    """Copy `path` to `<path>.bak` (mode 600) before it is replaced; None when it does not exist."""
    if not path.exists():
        return None
    target = path.with_name(path.name + ".bak")
    atomic_write_bytes(target, path.read_bytes(), mode=SECRET_MODE)
    return target


def load_certificate(path: Path) -> x509.Certificate:
    """The first PEM certificate in `path`; UserInputError naming the file when unreadable."""
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except FileNotFoundError:
        raise UserInputError(f"{path}: certificate not found; run `tradeops certs init`") from None
    except ValueError as exc:
        raise UserInputError(f"{path}: not a PEM certificate ({exc})") from None


def load_private_key(path: Path) -> CertificateIssuerPrivateKeyTypes:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise UserInputError(f"{path}: private key not found; run `tradeops certs init`") from None
    except (ValueError, TypeError) as exc:
        raise UserInputError(f"{path}: not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        raise UserInputError(f"{path}: unsupported key type {type(key).__name__}")
    return key


def load_issued(cert_path: Path, key_path: Path) -> Issued:
    return Issued(load_certificate(cert_path), load_private_key(key_path))


def key_matches(cert: x509.Certificate, key: CertificateIssuerPrivateKeyTypes) -> bool:
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return cert.public_key().public_bytes(*fmt) == key.public_key().public_bytes(*fmt)


# --- description ----------------------------------------------------------------------------------


def subject_string(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string()


def sans_of(cert: x509.Certificate) -> list[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(v) for v in ext.get_values_for_type(x509.IPAddress)] + list(
        ext.get_values_for_type(x509.DNSName)
    )


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex(":")


def is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def describe(cert: x509.Certificate, now: dt.datetime | None = None) -> dict[str, object]:
    """Subject, issuer, SANs, validity, days left (negative once expired), sha256 fingerprint."""
    moment = now or utc_now()
    not_after = cert.not_valid_after_utc
    return {
        "subject": subject_string(cert),
        "issuer": cert.issuer.rfc4514_string(),
        "sans": sans_of(cert),
        "is_ca": is_ca(cert),
        "not_before": cert.not_valid_before_utc.isoformat().replace("+00:00", "Z"),
        "not_after": not_after.isoformat().replace("+00:00", "Z"),
        "days_left": int((not_after - moment).total_seconds() // 86400),
        "expired": not_after <= moment,
        "not_yet_valid": cert.not_valid_before_utc > moment,
        "fingerprint_sha256": fingerprint(cert),
    }


def signed_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    """True when `ca` issued `cert` (name match and a valid signature)."""
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True
