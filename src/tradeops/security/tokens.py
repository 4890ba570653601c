"""Control API bearer tokens: where each secret comes from, and constant-time identification.

A token in config/core.yaml names the env var holding its secret (`env`) or stores the sha256 of
the secret (`hash: sha256:<hex>`). Inline secrets (`value`) are never accepted: secrets do not
belong in a committed file. The control API (enforcement) and the security audit (coverage) both
use this module, so they cannot disagree about which tokens are usable.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from tradeops.config.models import TOKEN_SCOPES, ApiToken

SCOPES: tuple[str, ...] = TOKEN_SCOPES
HASH_PREFIX = "sha256:"
_HASH_RE = re.compile(r"^sha256:[0-9a-f]{64}$")

Source = Literal["env", "hash", "inline", "none"]


def hash_secret(secret: str) -> str:
    """The `hash:` value to put in core.yaml for `secret`."""
    return HASH_PREFIX + hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


@dataclass(frozen=True)
class ResolvedToken:
    """One configured token and whether its secret is actually available."""

    token_id: str
    scopes: frozenset[str]
    source: Source
    token_env: str | None
    env_present: bool
    digest: bytes | None  # sha256 of the secret; None when the token cannot authenticate anyone
    problem: str | None = None  # why the token is unusable or misconfigured

    @property
    def usable(self) -> bool:
        return self.digest is not None

    def to_dict(self) -> dict[str, object]:
        return {
            "token_id": self.token_id,
            "scopes": sorted(self.scopes),
            "source": self.source,
            "token_env": self.token_env,
            "env_present": self.env_present,
            "usable": self.usable,
            "problem": self.problem,
        }


def resolve_token(token: ApiToken, environ: Mapping[str, str]) -> ResolvedToken:
    given = [name for name in ("env", "hash", "value") if getattr(token, name) is not None]
    scopes = frozenset(token.scopes)
    if token.value is not None:
        return ResolvedToken(
            token.id,
            scopes,
            "inline",
            token.env,
            False,
            None,
            "inline secret in the config file; move it to an env var (`env:`) or store `hash: sha256:<hex>`",
        )
    if len(given) > 1:
        return ResolvedToken(
            token.id, scopes, "env", token.env, False, None, "give exactly one of `env` or `hash`"
        )
    if token.env is not None:
        secret = environ.get(token.env, "")
        if not secret:
            return ResolvedToken(
                token.id, scopes, "env", token.env, False, None, f"env {token.env} is not set or empty"
            )
        return ResolvedToken(
            token.id,
            scopes,
            "env",
            token.env,
            True,
            _digest(secret),
        )
    if token.hash is not None:
        if not _HASH_RE.match(token.hash):
            return ResolvedToken(
                token.id, scopes, "hash", None, False, None, "hash must look like sha256:<64 lowercase hex>"
            )
        return ResolvedToken(
            token.id, scopes, "hash", None, False, bytes.fromhex(token.hash[len(HASH_PREFIX) :])
        )
    return ResolvedToken(token.id, scopes, "none", None, False, None, "no secret source (`env` or `hash`)")


def resolve_tokens(tokens: Iterable[ApiToken], environ: Mapping[str, str]) -> list[ResolvedToken]:
    return [resolve_token(token, environ) for token in tokens]


class TokenVerifier:
    """Map a presented bearer secret to its token in time independent of which token matches."""

    def __init__(self, tokens: Sequence[ResolvedToken]) -> None:
        self._tokens = tuple(t for t in tokens if t.usable)

    @property
    def tokens(self) -> tuple[ResolvedToken, ...]:
        return self._tokens

    def __bool__(self) -> bool:
        return bool(self._tokens)

    def identify(self, presented: str) -> ResolvedToken | None:
        digest = _digest(presented)
        found: ResolvedToken | None = None
        for token in self._tokens:  # no early exit: every token is compared every time
            assert token.digest is not None
            if hmac.compare_digest(digest, token.digest):
                found = token
        return found
