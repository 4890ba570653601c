"""Token resolution and identification shared by the control API and the audit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from tradeops.config.models import ApiToken
from tradeops.security.tokens import TokenVerifier, hash_secret, resolve_token, resolve_tokens

ENV = {"OPS_TOKEN": "ops-secret-0123456789", "SHORT": "abc", "EMPTY": ""}
TOKENS = (
    ApiToken(id="ops", env="OPS_TOKEN", scopes=("runtime.schedule.write",)),
    ApiToken(id="hashed", hash=hash_secret("hashed-secret-0123456789"), scopes=("audit.read",)),
    ApiToken(id="inline", value="inline-secret-0123456789", scopes=("audit.read",)),
    ApiToken(id="unset", env="NOT_SET", scopes=("audit.read",)),
    ApiToken(id="empty", env="EMPTY", scopes=("audit.read",)),
)


def test_sources_and_usability() -> None:
    resolved = {t.token_id: t for t in resolve_tokens(TOKENS, ENV)}
    assert resolved["ops"].source == "env" and resolved["ops"].usable and resolved["ops"].env_present
    assert resolved["hashed"].source == "hash" and resolved["hashed"].usable
    assert resolved["inline"].source == "inline" and not resolved["inline"].usable
    assert not resolved["unset"].usable and not resolved["empty"].usable
    with pytest.raises(ValidationError, match="sha256:<64 lowercase hex digits>"):
        ApiToken(id="b", hash="sha256:XYZ", scopes=("audit.read",))  # refused when the config loads
    with pytest.raises(ValidationError, match="unknown scope"):
        ApiToken(id="b", env="OPS_TOKEN", scopes=("",))
    both = ApiToken(id="both", env="OPS_TOKEN", hash=hash_secret("x"), scopes=("audit.read",))
    assert resolve_token(both, ENV).problem == "give exactly one of `env` or `hash`"


def test_verifier_identifies_env_and_hash_tokens_only() -> None:
    verifier = TokenVerifier(resolve_tokens(TOKENS, ENV))
    assert [t.token_id for t in verifier.tokens] == ["ops", "hashed"]
    found = verifier.identify("ops-secret-0123456789")
    assert found is not None and found.token_id == "ops"
    found = verifier.identify("hashed-secret-0123456789")
    assert found is not None and found.token_id == "hashed"
    assert verifier.identify("inline-secret-0123456789") is None  # inline secrets never authenticate
    assert verifier.identify("") is None
    assert not TokenVerifier(resolve_tokens(TOKENS[2:], ENV))


@given(st.text(min_size=1, max_size=64))
def test_no_other_string_authenticates(candidate: str) -> None:
    verifier = TokenVerifier(resolve_tokens(TOKENS, ENV))
    expected = {"ops-secret-0123456789": "ops", "hashed-secret-0123456789": "hashed"}.get(candidate)
    found = verifier.identify(candidate)
    assert (found.token_id if found else None) == expected
