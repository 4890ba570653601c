"""Scrape a /metrics endpoint: the request headers (with their sources), the parsed samples.

Headers come from three places, each labelled in the headers report: built-in defaults
(`default`), `--header K=V` (`cli:--header`), and a bearer token read from the environment
variable named by `--token-env` (`env:NAME`) or by `observability.metrics.token_env`
(`config:observability.metrics.token_env -> env:NAME`). Values of keys containing auth, token,
secret or key are masked in the report.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tradeops import __version__
from tradeops.domain.errors import UserInputError

Labels = tuple[tuple[str, str], ...]
Samples = dict[str, dict[Labels, float]]

SECRET_WORDS = ("auth", "token", "secret", "key")
PREVIEW_CHARS = 80


@dataclass(frozen=True, slots=True)
class Header:
    key: str
    value: str
    source: str

    @property
    def masked(self) -> bool:
        return any(word in self.key.lower() for word in SECRET_WORDS)

    def report(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"key": self.key, "length": len(self.value), "source": self.source}
        if self.masked:
            entry.update(masked=True, value_preview="<masked>")
        else:
            entry.update(masked=False, value_preview=self.value[:PREVIEW_CHARS])
            if len(self.value) > PREVIEW_CHARS:
                entry["truncated"] = True
        return entry


def _parse_header(text: str) -> tuple[str, str]:
    for separator in ("=", ":"):
        key, found, value = text.partition(separator)
        if found and key.strip() and value.strip():
            return key.strip(), value.strip()
    raise UserInputError(f"--header {text!r}: use NAME=VALUE (or NAME: VALUE), e.g. X-Trace=ops-42")


def build_headers(
    cli_headers: Sequence[str],
    token_env: str | None,
    config_token_env: str | None,
    environ: Mapping[str, str],
) -> list[Header]:
    """Headers in send order; a later source replaces an earlier one with the same key."""
    merged: dict[str, Header] = {}

    def put(header: Header) -> None:
        merged[header.key.lower()] = header

    put(Header("User-Agent", f"tradeops-watch/{__version__}", "default"))
    put(Header("Accept", "text/plain;version=0.0.4", "default"))
    if token_env:
        token = environ.get(token_env)
        if not token:
            raise UserInputError(
                f"--token-env {token_env}: the variable is not set (export {token_env}=<token>)"
            )
        put(Header("Authorization", f"Bearer {token}", f"env:{token_env}"))
    elif config_token_env:
        token = environ.get(config_token_env)
        if not token:
            raise UserInputError(
                f"observability.metrics.token_env names {config_token_env}, which is not set: "
                f"export {config_token_env}=<token> (or pass --token-env NAME)"
            )
        source = f"config:observability.metrics.token_env -> env:{config_token_env}"
        put(Header("Authorization", f"Bearer {token}", source))
    for text in cli_headers:
        key, value = _parse_header(text)
        put(Header(key, value, "cli:--header"))
    return list(merged.values())


def headers_report(headers: Sequence[Header]) -> dict[str, Any]:
    return {"headers_count": len(headers), "headers": [h.report() for h in headers]}


def parse_exposition(text: str) -> Samples:
    """name -> {sorted label pairs -> value} for every sample in a text exposition."""
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = tuple(sorted(sample.labels.items()))
            samples.setdefault(sample.name, {})[labels] = float(sample.value)
    return samples


class ScrapeError(Exception):
    """One scrape failed (the watcher counts it; at start-up it is fatal)."""


def tls_client_context(
    ca_file: Path | None, client_cert: Path | None, client_key: Path | None
) -> ssl.SSLContext:
    """Verify the exporter against `ca_file` (system CAs when None); present a client certificate if given."""
    for flag, path in (("--ca-file", ca_file), ("--client-cert", client_cert), ("--client-key", client_key)):
        if path is not None and not path.is_file():
            raise UserInputError(f"{flag} {path}: no such file")
    if client_key is not None and client_cert is None:
        raise UserInputError("--client-key needs --client-cert")
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    if client_cert is not None:
        try:
            context.load_cert_chain(str(client_cert), str(client_key) if client_key else None)
        except (ssl.SSLError, OSError) as exc:
            raise UserInputError(f"--client-cert {client_cert}: cannot be used ({exc})") from exc
    return context


class Scraper:
    def __init__(
        self,
        url: str,
        headers: Sequence[Header],
        *,
        timeout: float = 5.0,
        verify: ssl.SSLContext | bool = True,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise UserInputError(f"--url {url!r}: give an http(s) URL, e.g. http://127.0.0.1:9464/metrics")
        self.url = url
        self._http = httpx.Client(
            headers={h.key: h.value for h in headers}, timeout=timeout, verify=verify, transport=transport
        )

    def close(self) -> None:
        self._http.close()

    def scrape(self) -> Samples:
        try:
            response = self._http.get(self.url)
        except httpx.TransportError as exc:
            raise ScrapeError(f"{self.url} is unreachable ({type(exc).__name__}: {exc})") from exc
        if response.status_code == 401:
            raise ScrapeError(f"{self.url} wants a bearer token (HTTP 401): pass --token-env NAME")
        if response.status_code != 200:
            raise ScrapeError(f"{self.url} answered HTTP {response.status_code}")
        try:
            return parse_exposition(response.text)
        except ValueError as exc:
            raise ScrapeError(f"{self.url} did not return Prometheus text format ({exc})") from exc
