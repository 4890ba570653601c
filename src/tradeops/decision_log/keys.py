"""Signing keys: where they come from (flags, env, files, a keyring) and how entries are signed."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson
import yaml

from tradeops.decision_log.reader import read_tail
from tradeops.domain.errors import UserInputError

HashAlgorithm = Literal["sha256", "sha384"]
HASH_ALGORITHMS: tuple[HashAlgorithm, ...] = ("sha256", "sha384")
SIGNATURE_ALGORITHMS: dict[str, HashAlgorithm] = {"HMAC-SHA256": "sha256", "HMAC-SHA384": "sha384"}

ENV_KEY = "TRADEOPS_DECISION_LOG_KEY"
ENV_KEY_FILE = "TRADEOPS_DECISION_LOG_KEY_FILE"
ENV_KEY_ID = "TRADEOPS_DECISION_LOG_KEY_ID"
DEFAULT_KEY_ID = "default"
# Keyring entry that verifies any key id without an entry of its own (a single key given by flags).
ANY_KEY_ID = "*"

DEFAULT_KEY_FILE = "var/secrets/decision_log.key"
KEY_SOURCES = (
    f"keys come from --hmac-key-file/--hmac-key, {ENV_KEY_FILE}/{ENV_KEY}, or the file "
    f"decision_log.key_file (default {DEFAULT_KEY_FILE})"
)
NO_KEY_MESSAGE = (
    "no decision-log signing key: pass --hmac-key-file PATH or --hmac-key VALUE "
    f"(or set {ENV_KEY_FILE} / {ENV_KEY}, or put it in decision_log.key_file, default "
    f"{DEFAULT_KEY_FILE}; key id: --hmac-key-id / {ENV_KEY_ID}), or --allow-unsigned"
)


_BLOCK_SIZE = {"sha256": 64, "sha384": 128}
_SIGNATURE_MEMBER = b'"signature":'


@dataclass(frozen=True, slots=True)
class SigningKey:
    """An HMAC key. The secret never appears in repr or logs."""

    key_id: str
    secret: bytes = field(repr=False)
    algorithm: HashAlgorithm = "sha256"
    # HMAC (RFC 2104) with the keyed inner/outer states precomputed: about twice as fast per entry
    # as hmac.digest(), which re-derives them on every call.
    _inner: Any = field(init=False, repr=False, compare=False)
    _outer: Any = field(init=False, repr=False, compare=False)
    _signature_prefix: bytes = field(init=False, repr=False, compare=False)
    _signature_head: bytes = field(init=False, repr=False, compare=False)
    _algorithm_name: str = field(init=False, repr=False, compare=False)
    _signed_middle: bytes = field(init=False, repr=False, compare=False)
    _line_middle: bytes = field(init=False, repr=False, compare=False)
    _member_prefix: bytes = field(init=False, repr=False, compare=False)
    _unsigned_member: bytes = field(init=False, repr=False, compare=False)
    _entry_marker: bytes = field(init=False, repr=False, compare=False)
    # The signature object without its value, one shared dict (`encode_entry` serialises it in an
    # entry and replaces it; never handed out: `unsigned_signature` is a fresh copy).
    unsigned: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        block = _BLOCK_SIZE[self.algorithm]
        secret = self.secret
        if len(secret) > block:
            secret = hashlib.new(self.algorithm, secret).digest()
        secret = secret.ljust(block, b"\0")
        object.__setattr__(self, "_inner", hashlib.new(self.algorithm, bytes(b ^ 0x36 for b in secret)))
        object.__setattr__(self, "_outer", hashlib.new(self.algorithm, bytes(b ^ 0x5C for b in secret)))
        name = "HMAC-" + self.algorithm.upper()
        object.__setattr__(self, "_algorithm_name", name)
        object.__setattr__(self, "unsigned", {"algorithm": name, "key_id": self.key_id})
        # Canonical JSON of the signature without its value: {"algorithm", "key_id"} (sorted keys).
        head = orjson.dumps({"algorithm": name, "key_id": self.key_id})
        object.__setattr__(self, "_signature_head", head)
        object.__setattr__(self, "_signature_prefix", head[:-1] + b',"value":"')
        # What joins an entry's two halves (the members before and after "signature"): signed
        # without the value, written with it (the value and '"},' follow _line_middle).
        object.__setattr__(self, "_signed_middle", b"," + _SIGNATURE_MEMBER + head + b",")
        object.__setattr__(self, "_line_middle", b"," + _SIGNATURE_MEMBER + head[:-1] + b',"value":"')
        # A line's signature member with its value, up to the value; and without the value.
        object.__setattr__(self, "_member_prefix", _SIGNATURE_MEMBER + head[:-1] + b',"value":"')
        object.__setattr__(self, "_unsigned_member", _SIGNATURE_MEMBER + head)
        # In an entry's signed bytes: the signature object without its value and the member after it.
        object.__setattr__(self, "_entry_marker", b"," + _SIGNATURE_MEMBER + head + b',"stage":')

    @property
    def signature_algorithm(self) -> str:
        return self._algorithm_name

    @property
    def signature_head(self) -> bytes:
        """Canonical bytes of the signature object without its value (part of the signed bytes)."""
        return self._signature_head

    def with_algorithm(self, algorithm: HashAlgorithm) -> SigningKey:
        return self if algorithm == self.algorithm else SigningKey(self.key_id, self.secret, algorithm)

    def mac(self, *chunks: bytes | memoryview) -> bytes:
        """HMAC of the concatenation of `chunks` with this key."""
        inner = self._inner.copy()
        for chunk in chunks:
            inner.update(chunk)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return bytes(outer.digest())

    def sign_halves(self, low: bytes | memoryview, high: bytes | memoryview) -> tuple[str, bytes]:
        """Sign `low` + `,"signature":{algorithm,key_id},` + `high` in one pass, where `low` is the
        canonical JSON of an entry's members before "signature" without its closing brace and `high`
        that of the members after it without its opening brace. Return the signature value and the
        line `low,"signature":{algorithm,key_id,value},high`."""
        inner = self._inner.copy()
        inner.update(low)
        inner.update(self._signed_middle)
        inner.update(high)
        outer = self._outer.copy()
        outer.update(inner.digest())
        value = binascii.b2a_base64(outer.digest(), newline=False)
        return value.decode("ascii"), b"".join((low, self._line_middle, value, b'"},', high))

    def sign_entry(self, signed: bytes) -> tuple[str, bytes]:
        """Sign `signed`, the canonical JSON of an entry whose "signature" member is this key's
        signature object without its value and whose members after it are only "stage", "status",
        "tags" and "timestamp" (strings and a list of strings). Return the signature value and the
        line: `signed` with the value added to that object. The object is found as the last
        `,"signature":{..},"stage":` in the bytes: none can follow it, as the members after it hold
        only strings (where every quote is escaped); an earlier one (inside artefacts) is not it."""
        signature, line = self.sign_entry_object(signed)
        return signature["value"], line

    def sign_entry_object(self, signed: bytes) -> tuple[dict[str, str], bytes]:
        """`sign_entry`, returning the complete signature object (`signature(value)`) and the line."""
        cut = signed.rfind(self._entry_marker)
        if cut < 0:
            raise ValueError("sign_entry: no signature object followed by stage in the entry")
        cut += len(self._entry_marker) - 10  # the "}" closing the signature object (before ',"stage":')
        inner = self._inner.copy()
        inner.update(signed)
        outer = self._outer.copy()
        outer.update(inner.digest())
        value = binascii.b2a_base64(outer.digest(), newline=False)
        signature = {"algorithm": self._algorithm_name, "key_id": self.key_id, "value": value.decode("ascii")}
        return signature, b"".join((signed[:cut], b',"value":"', value, b'"', signed[cut:]))

    def line_signed(self, line: bytes, value: str) -> bool:
        """True when `value` is this key's MAC of `line` with its signature member's value cut out
        (the signed bytes of a line the writer made). `value` must be ASCII."""
        encoded = value.encode("ascii")
        member = self._member_prefix + encoded + b'"}'
        cut = line.rfind(member)
        if cut <= 0:
            return False
        view = memoryview(line)
        inner = self._inner.copy()
        inner.update(view[:cut])
        inner.update(self._unsigned_member)
        inner.update(view[cut + len(member) :])
        outer = self._outer.copy()
        outer.update(inner.digest())
        return hmac.compare_digest(binascii.b2a_base64(outer.digest(), newline=False), encoded)

    def signature_value(self, *chunks: bytes | memoryview) -> str:
        """Base64 HMAC of the concatenated chunks (the `value` of a signature object)."""
        return binascii.b2a_base64(self.mac(*chunks), newline=False).decode("ascii")

    @property
    def unsigned_signature(self) -> dict[str, str]:
        """The signature object without its value (what the signed bytes hold)."""
        return {"algorithm": self._algorithm_name, "key_id": self.key_id}

    def signature_bytes(self, value: str) -> bytes:
        """Canonical bytes of the complete signature object with `value`."""
        return self._signature_prefix + value.encode("ascii", "replace") + b'"}'

    def signature(self, value: str) -> dict[str, str]:
        return {"algorithm": self._algorithm_name, "key_id": self.key_id, "value": value}


def ephemeral_key(key_id: str = "bench", algorithm: HashAlgorithm = "sha256") -> SigningKey:
    """A fresh random key held only in memory (benchmarks): no environment, no key file."""
    return SigningKey(key_id, secrets.token_bytes(32), algorithm)


def check_algorithm(algorithm: str, flag: str = "--hash-algorithm") -> HashAlgorithm:
    if algorithm not in HASH_ALGORITHMS:
        raise UserInputError(f"{flag} {algorithm!r}: use one of {', '.join(HASH_ALGORITHMS)}")
    return algorithm


def read_key_file(path: str | Path, source: str) -> bytes:
    """Key file bytes with surrounding whitespace stripped; missing or empty is a one-line error."""
    try:
        secret = Path(path).read_bytes().strip()
    except FileNotFoundError:
        raise UserInputError(f"{source} {path}: key file not found") from None
    except OSError as exc:
        raise UserInputError(f"{source} {path}: cannot read key file ({exc.strerror})") from None
    if not secret:
        raise UserInputError(f"{source} {path}: key file is empty")
    return secret


def _secret_from(value: str | None, value_source: str, file: str | None, file_source: str) -> bytes | None:
    if value is not None and file is not None:
        raise UserInputError(f"both {value_source} and {file_source} given: use only one key source")
    if value is not None:
        if not value:
            raise UserInputError(f"{value_source} is empty")
        return value.encode("utf-8")
    if file is not None:
        return read_key_file(file, file_source)
    return None


def resolve_signing_key(
    *,
    key: str | None,
    key_file: str | None,
    key_id: str | None,
    algorithm: str = "sha256",
    allow_unsigned: bool = False,
    environ: Mapping[str, str] = os.environ,
    default_key_id: str = DEFAULT_KEY_ID,
    default_key_file: str | Path | None = None,
    log_path: str | Path | None = None,
) -> SigningKey | None:
    """Key from --hmac-key/--hmac-key-file, else from the environment, else from `default_key_file`
    (decision_log.key_file) when that file exists; flags win over env as a whole.

    Returns None only when no key is configured and `allow_unsigned` is set. Without a key the
    error names `log_path` and the key id its entries expect, when there is such a log.
    """
    alg = check_algorithm(algorithm)
    if key is not None or key_file is not None:
        secret = _secret_from(key, "--hmac-key", key_file, "--hmac-key-file")
    else:
        secret = _secret_from(
            environ.get(ENV_KEY) or None, ENV_KEY, environ.get(ENV_KEY_FILE) or None, ENV_KEY_FILE
        )
    if secret is None and default_key_file is not None and Path(default_key_file).is_file():
        secret = read_key_file(default_key_file, "decision_log.key_file")
    if secret is None:
        if allow_unsigned:
            return None
        raise UserInputError(missing_key_message(log_path))
    return SigningKey(key_id or environ.get(ENV_KEY_ID) or default_key_id, secret, alg)


def log_key_id(log_path: str | Path) -> str | None:
    """Key id signing the last entry of a log (O(tail)); None when empty, unsigned or unreadable."""
    try:
        tail = read_tail(Path(log_path))
        entry = orjson.loads(tail.last_line) if tail.last_line else None
    except (OSError, UserInputError, orjson.JSONDecodeError):
        return None
    signature = entry.get("signature") if isinstance(entry, dict) else None
    key_id = signature.get("key_id") if isinstance(signature, dict) else None
    return key_id if isinstance(key_id, str) else None


def missing_key_message(log_path: str | Path | None) -> str:
    expected = log_key_id(log_path) if log_path is not None else None
    if expected is None:
        return NO_KEY_MESSAGE
    return (
        f"no decision-log signing key for {log_path}, whose entries are signed with key id "
        f"{expected!r}: {KEY_SOURCES}; a new key is never created for a log that has entries"
    )


def ensure_local_key(key_file: str | Path, key_id: str, logs: list[Path]) -> bool:
    """Create `key_file` (random, mode 600) for a paper setup whose logs have no entries yet.

    True when a key was created. When any of `logs` already has entries the key that signed them
    is needed, so a missing key is an error naming the log and its key id, never a new key.
    """
    path = Path(key_file)
    if path.exists():
        return False
    for log in logs:
        if log.is_file() and log.stat().st_size > 0:
            expected = log_key_id(log) or key_id
            raise UserInputError(
                f"no decision-log key: {path} is missing but {log} already has entries signed with key "
                f"id {expected!r}; restore that key file ({KEY_SOURCES}). A new key is only created "
                "for logs without entries"
            )
    from tradeops.fsutil import atomic_write_bytes

    atomic_write_bytes(path, base64.b64encode(os.urandom(32)), mode=0o600)
    return True


def _keyring_secret(key_id: str, spec: Any, base: Path, path: Path) -> bytes:
    if isinstance(spec, str) and spec:
        return spec.encode("utf-8")
    if isinstance(spec, dict) and isinstance(spec.get("file"), str):
        file = Path(spec["file"]).expanduser()
        return read_key_file(file if file.is_absolute() else base / file, f"--keyring {path} key {key_id!r}")
    raise UserInputError(f"--keyring {path}: key {key_id!r} must be a non-empty string or {{file: PATH}}")


def load_keyring(path: str | Path) -> dict[str, SigningKey]:
    """A JSON or YAML mapping key_id -> secret, or key_id -> {file: PATH} (relative to the keyring)."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserInputError(f"--keyring {path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserInputError(f"--keyring {path}: cannot read ({exc})") from None
    except yaml.YAMLError as error:  # not `exc`: mypyc keeps the type of a name's first binding
        raise UserInputError(f"--keyring {path}: not JSON or YAML ({str(error).splitlines()[0]})") from None
    if not isinstance(document, dict) or not document:
        raise UserInputError(f"--keyring {path}: expected a mapping key_id -> secret")
    keyring: dict[str, SigningKey] = {}
    for key_id, spec in document.items():
        key_id = str(key_id)
        keyring[key_id] = SigningKey(key_id, _keyring_secret(key_id, spec, path.parent, path))
    return keyring
