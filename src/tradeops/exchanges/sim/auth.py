"""SIGNED request checks: API key header, HMAC SHA256 signature over the query string and body
(signature removed), timestamp within recvWindow of the server clock (at most 1 s ahead)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from tradeops.exchanges.sim.book import Account
from tradeops.exchanges.sim.errors import SimError

MAX_RECV_WINDOW_MS = 60_000
DEFAULT_RECV_WINDOW_MS = 5_000
MAX_AHEAD_MS = 1_000


def _strip_signature(raw: str) -> tuple[str, str | None]:
    kept, signature = [], None
    for part in raw.split("&") if raw else []:
        if part.startswith("signature="):
            signature = part[len("signature=") :]
        else:
            kept.append(part)
    return "&".join(kept), signature


def authenticate(
    accounts: Mapping[str, Account],
    api_key: str | None,
    raw_query: str,
    raw_body: str,
    params: Mapping[str, str],
    now_ms: int,
) -> Account:
    """The account a SIGNED request belongs to, or the Binance error that refuses it."""
    account = accounts.get(api_key or "")
    if account is None:
        raise SimError(401, -2015, "Invalid API-key, IP, or permissions for action.")
    query, sig_q = _strip_signature(raw_query)
    body, sig_b = _strip_signature(raw_body)
    signature = sig_q or sig_b
    if not signature:
        raise SimError(
            400, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed."
        )
    expected = hmac.new(account.secret.encode(), (query + body).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature.lower()):
        raise SimError(400, -1022, "Signature for this request is not valid.")
    _check_time(params, now_ms)
    return account


def _check_time(params: Mapping[str, str], now_ms: int) -> None:
    try:
        timestamp = int(params["timestamp"])
        window = int(params.get("recvWindow", DEFAULT_RECV_WINDOW_MS))
    except KeyError:
        raise SimError(
            400, -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed."
        ) from None
    except ValueError:
        raise SimError(400, -1100, "Illegal characters found in parameter 'timestamp'.") from None
    if not 0 < window <= MAX_RECV_WINDOW_MS:
        raise SimError(400, -1131, "recvWindow must be less than 60000")
    if timestamp > now_ms + MAX_AHEAD_MS or now_ms - timestamp > window:
        raise SimError(400, -1021, "Timestamp for this request is outside of the recvWindow.")
