"""Signing keys: sources and their precedence, error messages, keyrings, HMAC correctness."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from tradeops.decision_log.keys import (
    ENV_KEY,
    ENV_KEY_FILE,
    ENV_KEY_ID,
    SigningKey,
    load_keyring,
    resolve_signing_key,
)
from tradeops.domain.errors import UserInputError


def test_no_key_names_every_flag_and_env_var():
    with pytest.raises(UserInputError) as excinfo:
        resolve_signing_key(key=None, key_file=None, key_id=None, environ={})
    message = str(excinfo.value)
    for name in (
        "--hmac-key-file",
        "--hmac-key",
        "--hmac-key-id",
        ENV_KEY,
        ENV_KEY_FILE,
        ENV_KEY_ID,
        "--allow-unsigned",
    ):
        assert name in message
    assert "\n" not in message


def test_allow_unsigned_without_key_gives_none():
    assert resolve_signing_key(key=None, key_file=None, key_id=None, allow_unsigned=True, environ={}) is None


def test_flag_value_is_used_verbatim_with_flag_id():
    key = resolve_signing_key(key=" s3cret ", key_file=None, key_id="ops-1", algorithm="sha384", environ={})
    assert key == SigningKey("ops-1", b" s3cret ", "sha384")


def test_key_file_is_stripped_and_id_comes_from_env(tmp_path):
    path = tmp_path / "key"
    path.write_bytes(b"  file-secret\n")
    key = resolve_signing_key(
        key=None, key_file=None, key_id=None, environ={ENV_KEY_FILE: str(path), ENV_KEY_ID: "env-id"}
    )
    assert key is not None and key.secret == b"file-secret" and key.key_id == "env-id"


def test_default_key_id_applies_when_none_given():
    key = resolve_signing_key(key="k", key_file=None, key_id=None, environ={}, default_key_id="tradeops-ops")
    assert key is not None and key.key_id == "tradeops-ops"


def test_flags_win_over_environment(tmp_path):
    path = tmp_path / "key"
    path.write_bytes(b"from-file")
    key = resolve_signing_key(key=None, key_file=str(path), key_id=None, environ={ENV_KEY: "from-env"})
    assert key is not None and key.secret == b"from-file"


@pytest.mark.parametrize(
    ("key", "key_file", "environ"),
    [("v", "f", {}), (None, None, {ENV_KEY: "v", ENV_KEY_FILE: "f"})],
)
def test_value_and_file_together_is_an_error(key, key_file, environ):
    with pytest.raises(UserInputError, match="only one key source"):
        resolve_signing_key(key=key, key_file=key_file, key_id=None, environ=environ)


def test_empty_and_missing_key_files_are_errors(tmp_path):
    empty = tmp_path / "empty"
    empty.write_bytes(b" \n")
    with pytest.raises(UserInputError, match="empty"):
        resolve_signing_key(key=None, key_file=str(empty), key_id=None, environ={})
    with pytest.raises(UserInputError, match="not found"):
        resolve_signing_key(key=None, key_file=str(tmp_path / "nope"), key_id=None, environ={})


def test_unknown_algorithm_is_an_error():
    with pytest.raises(UserInputError, match="sha256, sha384"):
        resolve_signing_key(key="k", key_file=None, key_id=None, algorithm="md5", environ={})


def test_secret_is_not_in_repr():
    assert "hunter2" not in repr(SigningKey("id", b"hunter2"))


@pytest.mark.parametrize("algorithm", ["sha256", "sha384"])
@pytest.mark.parametrize("secret", [b"k", b"x" * 64, b"y" * 200])
def test_mac_matches_the_standard_library(algorithm, secret):
    key = SigningKey("id", secret, algorithm)
    data = b'{"a":1}' * 50
    assert key.mac(data) == hmac.digest(secret, data, algorithm)
    assert key.mac(data[:10], data[10:]) == hmac.digest(secret, data, algorithm)
    assert key.with_algorithm("sha384").mac(data) == hmac.digest(secret, data, hashlib.sha384)


def test_signature_bytes_are_the_canonical_signature_object():
    key = SigningKey("ops-é", b"k", "sha384")
    signature = key.signature(key.signature_value(b"da", b"ta"))
    assert signature["algorithm"] == "HMAC-SHA384"
    assert signature["value"] == base64.b64encode(hmac.digest(b"k", b"data", hashlib.sha384)).decode()
    dumped = json.dumps(signature, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert key.signature_bytes(signature["value"]) == dumped
    head = {"algorithm": "HMAC-SHA384", "key_id": "ops-é"}
    assert key.signature_head == json.dumps(head, separators=(",", ":"), ensure_ascii=False).encode()


def test_keyring_json_yaml_and_files(tmp_path):
    (tmp_path / "old.key").write_bytes(b"old-secret\n")
    json_ring = tmp_path / "ring.json"
    json_ring.write_text(json.dumps({"new": "new-secret", "old": {"file": "old.key"}}))
    yaml_ring = tmp_path / "ring.yaml"
    yaml_ring.write_text("new: new-secret\nold:\n  file: old.key\n")
    for ring in (json_ring, yaml_ring):
        keys = load_keyring(ring)
        assert {k: v.secret for k, v in keys.items()} == {"new": b"new-secret", "old": b"old-secret"}


@pytest.mark.parametrize("text", ["[1, 2]", "a: ''", "a: {x: 1}", "{"])
def test_bad_keyrings_are_one_line_errors(tmp_path, text):
    ring = tmp_path / "ring.yaml"
    ring.write_text(text)
    with pytest.raises(UserInputError) as excinfo:
        load_keyring(ring)
    assert "--keyring" in str(excinfo.value) and "\n" not in str(excinfo.value)


def test_missing_keyring(tmp_path):
    with pytest.raises(UserInputError, match="not found"):
        load_keyring(tmp_path / "none.json")
