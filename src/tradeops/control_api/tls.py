"""The control API's TLS: one server SSLContext (TLS >= 1.2, client certificate required), plus
the matching client context used by tests, the benchmark and operators' scripts."""

from __future__ import annotations

import ssl
from functools import lru_cache
from pathlib import Path

from cryptography import x509

from tradeops.config.models import TlsConfig
from tradeops.domain.errors import UserInputError


def _load_chain(context: ssl.SSLContext, certificate: Path, private_key: Path, what: str) -> None:
    for path in (certificate, private_key):
        if not path.is_file():
            raise UserInputError(f"{what} {path}: not found; run `tradeops certs init`")
    try:
        context.load_cert_chain(certfile=str(certificate), keyfile=str(private_key))
    except (ssl.SSLError, OSError) as exc:
        raise UserInputError(f"{what} {certificate} / {private_key}: cannot be used ({exc})") from None


def server_context(tls: TlsConfig) -> ssl.SSLContext:
    """Serve with the configured certificate; require a client certificate signed by client_ca."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    _load_chain(context, Path(tls.certificate), Path(tls.private_key), "control_api.tls")
    if tls.require_client_cert:
        ca = Path(tls.client_ca)
        if not ca.is_file():
            raise UserInputError(f"control_api.tls.client_ca {ca}: not found; run `tradeops certs init`")
        try:
            context.load_verify_locations(cafile=str(ca))
        except (ssl.SSLError, OSError) as exc:
            raise UserInputError(f"control_api.tls.client_ca {ca}: cannot be used ({exc})") from None
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def client_context(
    ca_cert: Path, certificate: Path | None = None, private_key: Path | None = None
) -> ssl.SSLContext:
    """Verify the server against `ca_cert`; present `certificate` when given (mTLS)."""
    context = ssl.create_default_context(cafile=str(ca_cert))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if certificate is not None:
        _load_chain(
            context, certificate, private_key or certificate.with_suffix(".key"), "client certificate"
        )
    return context


@lru_cache(maxsize=256)
def _subject_of(der: bytes) -> str:
    return x509.load_der_x509_certificate(der).subject.rfc4514_string()


def peer_subject(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> str | None:
    """RFC 4514 subject of the verified client certificate, or None without one."""
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    return _subject_of(der) if der else None
