"""Alertmanager API v2 client: silences (create, read, expire, list) and alerts.

Transport failures become one-line errors: an unreachable server or a 4xx answer is a
UserInputError (exit 2, names the URL or the rejected field), a 5xx a Temporary error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import httpx

from tradeops.domain.errors import Temporary, UserInputError

DEFAULT_TIMEOUT_S = 10.0
_MATCHER = re.compile(r"^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")


@dataclass(frozen=True, slots=True)
class Matcher:
    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True

    @property
    def operator(self) -> str:
        return {(False, True): "=", (False, False): "!=", (True, True): "=~", (True, False): "!~"}[
            (self.is_regex, self.is_equal)
        ]

    def __str__(self) -> str:
        return f"{self.name}{self.operator}{self.value}"

    def to_api(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "isRegex": self.is_regex, "isEqual": self.is_equal}

    def matches(self, labels: dict[str, str]) -> bool:
        actual = labels.get(self.name, "")
        hit = re.fullmatch(self.value, actual) is not None if self.is_regex else actual == self.value
        return hit == self.is_equal


def parse_matcher(text: str, flag: str = "--matcher") -> Matcher:
    """`k=v`, `k!=v`, `k=~regex` or `k!~regex` (quotes around the value are optional)."""
    match = _MATCHER.match(text)
    if not match or not match.group(3):
        raise UserInputError(
            f"{flag} {text!r}: use label=value (or !=, =~, !~), e.g. alertname=Stage4NoFills"
        )
    name, operator, value = match.groups()
    value = value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    if operator in ("=~", "!~"):
        try:
            re.compile(value)
        except re.error as exc:
            raise UserInputError(f"{flag} {text!r}: bad regular expression ({exc})") from exc
    return Matcher(name, value, is_regex="~" in operator, is_equal=operator in ("=", "=~"))


def to_rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_time(text: str) -> datetime:
    """Alertmanager timestamps (RFC 3339, nanoseconds allowed) as aware datetimes."""
    cleaned = text.replace("Z", "+00:00")
    fraction = re.search(r"\.(\d+)", cleaned)
    if fraction and len(fraction.group(1)) > 6:
        cleaned = cleaned.replace(fraction.group(0), "." + fraction.group(1)[:6])
    return datetime.fromisoformat(cleaned)


class AlertmanagerClient:
    """Synchronous client for one Alertmanager; use as a context manager."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise UserInputError(
                f"--alertmanager-url {base_url!r}: give an http(s) URL, e.g. http://127.0.0.1:9093"
            )
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)

    def __enter__(self) -> AlertmanagerClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise UserInputError(
                f"Alertmanager at {self.base_url} is unreachable ({type(exc).__name__}: {exc}); "
                "check --alertmanager-url, observability.alertmanager.url or TRADEOPS_ALERTMANAGER_URL"
            ) from exc
        if response.status_code >= 500:
            raise Temporary(
                f"Alertmanager {method} {path}: HTTP {response.status_code}: {response.text.strip()}"
            )
        if response.status_code >= 400:
            detail = response.text.strip().replace("\n", " ")
            raise UserInputError(
                f"Alertmanager refused {method} {path}: HTTP {response.status_code}: {detail}"
            )
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise UserInputError(
                f"{self.base_url} did not answer like Alertmanager API v2 (not JSON at {path})"
            ) from exc

    def create_silence(
        self,
        matchers: tuple[Matcher, ...],
        starts_at: datetime,
        ends_at: datetime,
        created_by: str,
        comment: str,
    ) -> str:
        body = {
            "matchers": [m.to_api() for m in matchers],
            "startsAt": to_rfc3339(starts_at),
            "endsAt": to_rfc3339(ends_at),
            "createdBy": created_by,
            "comment": comment,
        }
        answer = self._request("POST", "/api/v2/silences", json=body)
        silence_id = (answer or {}).get("silenceID")
        if not silence_id:
            raise UserInputError(f"{self.base_url} accepted the silence but returned no silenceID")
        return str(silence_id)

    def get_silence(self, silence_id: str) -> dict[str, Any]:
        return dict(self._request("GET", f"/api/v2/silence/{silence_id}"))

    def expire_silence(self, silence_id: str) -> None:
        self._request("DELETE", f"/api/v2/silence/{silence_id}")

    def silences(self) -> list[dict[str, Any]]:
        return list(self._request("GET", "/api/v2/silences") or [])

    def alerts(self, *, include_silenced: bool = True) -> list[dict[str, Any]]:
        params = {"active": "true", "silenced": str(include_silenced).lower(), "inhibited": "true"}
        return list(self._request("GET", "/api/v2/alerts", params=params) or [])
