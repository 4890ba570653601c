"""Who may call what: one table endpoint -> required scope, enforced by one router-level dependency.

A route missing from the table cannot be mounted (create_app checks), and at request time an
unknown route is denied: the table fails closed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tradeops.security.tokens import SCOPES, TokenVerifier

READ = "runtime.schedule.read"
WRITE = "runtime.schedule.write"
OVERRIDE = "runtime.override.write"
AUDIT = "audit.read"
PORTFOLIO = "portfolio.read"
INCIDENTS = "incidents.read"
INCIDENTS_WRITE = "incidents.write"
ALERTS = "alerts.read"
ALERTS_WRITE = "alerts.write"

ENDPOINT_SCOPES: dict[tuple[str, str], str] = {
    ("GET", "/v1/status"): READ,
    ("GET", "/v1/schedules"): READ,
    ("GET", "/v1/trading-state"): READ,
    ("GET", "/v1/strategies/{name}"): READ,
    ("POST", "/v1/strategies/{name}/disable"): WRITE,
    ("POST", "/v1/strategies/{name}/enable"): WRITE,
    ("POST", "/v1/override"): OVERRIDE,
    ("DELETE", "/v1/override"): OVERRIDE,
    ("POST", "/v1/config/apply"): WRITE,
    ("GET", "/v1/decision-log/recent"): AUDIT,
    # the read API (control_api/read_routes.py) and its live updates
    ("GET", "/v1/whoami"): READ,
    ("GET", "/v1/state"): READ,
    ("GET", "/v1/events"): READ,
    ("GET", "/v1/positions"): PORTFOLIO,
    ("GET", "/v1/balances"): PORTFOLIO,
    ("GET", "/v1/orders"): PORTFOLIO,
    ("GET", "/v1/fills"): PORTFOLIO,
    ("GET", "/v1/pnl"): PORTFOLIO,
    ("GET", "/v1/equity"): PORTFOLIO,
    ("GET", "/v1/load-tests"): PORTFOLIO,
    ("GET", "/v1/decision-log/entries"): AUDIT,
    ("GET", "/v1/decision-log/head"): AUDIT,
    ("GET", "/v1/incidents"): INCIDENTS,
    ("GET", "/v1/incidents/{incident_id}"): INCIDENTS,
    ("GET", "/v1/rollback"): INCIDENTS,
    ("POST", "/v1/incidents"): INCIDENTS_WRITE,
    ("POST", "/v1/incidents/{incident_id}/notes"): INCIDENTS_WRITE,
    ("POST", "/v1/incidents/{incident_id}/close"): INCIDENTS_WRITE,
    ("GET", "/v1/alerts"): ALERTS,
    # silences (control_api/silence_routes.py)
    ("POST", "/v1/silences"): ALERTS_WRITE,
    ("DELETE", "/v1/silences/{silence_id}"): ALERTS_WRITE,
}
CLIENT_SUBJECT_STATE = "tradeops_client_subject"

bearer = HTTPBearer(auto_error=False, description="Token secret; its scopes come from control_api.tokens")


@dataclass(frozen=True)
class Principal:
    """The caller: the token that authenticated and the subject of the TLS client certificate."""

    token_id: str | None
    scopes: frozenset[str]
    client_subject: str | None

    @property
    def name(self) -> str:
        return self.token_id or "anonymous-insecure-dev"


@dataclass(frozen=True)
class AccessPolicy:
    verifier: TokenVerifier
    allow_anonymous: bool = False  # only with --insecure-dev and no usable token


def check_table(openapi_paths: Mapping[str, Mapping[str, object]]) -> None:
    """Every /v1 operation in the OpenAPI document has a scope, and every table entry exists."""
    mounted = {(m.upper(), p) for p, ops in openapi_paths.items() if p.startswith("/v1/") for m in ops}
    missing = sorted(mounted - ENDPOINT_SCOPES.keys())
    stale = sorted(ENDPOINT_SCOPES.keys() - mounted)
    unknown = sorted(s for s in ENDPOINT_SCOPES.values() if s not in SCOPES)
    if missing or stale or unknown:
        raise RuntimeError(f"scope table mismatch: missing={missing} stale={stale} unknown={unknown}")


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


async def authorize(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
) -> Principal:
    """Router-level dependency: 401 without a valid token, 403 when its scopes lack the route's.

    Async on purpose: it never blocks (a hash and compares), and FastAPI would otherwise run it in
    the thread pool on every request."""
    policy: AccessPolicy = request.app.state.access_policy
    subject = request.scope.get("state", {}).get(CLIENT_SUBJECT_STATE)
    route = request.scope.get("route")
    required = ENDPOINT_SCOPES.get((request.method, getattr(route, "path", "")))
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        if policy.allow_anonymous:
            return Principal(None, frozenset(SCOPES), subject)
        raise _unauthorized("missing bearer token")
    token = policy.verifier.identify(credentials.credentials)
    if token is None:
        raise _unauthorized("invalid token")
    if required is None or required not in token.scopes:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"token {token.token_id} lacks scope {required}")
    return Principal(token.token_id, token.scopes, subject)
