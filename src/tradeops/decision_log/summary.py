"""The `summary` use case: turn operator flags (K=V artefacts, files, metadata, tags) into one entry.

Shared by `tradeops decision-log summary` and `scripts/verify_decision_log.py summary`. Every input
is checked before the log is opened, so a bad flag never leaves a partial entry behind.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tradeops.decision_log.canonical import CanonicalJsonError, canonical_bytes
from tradeops.decision_log.entry import encode_entry, genesis_hash, utc_timestamp
from tradeops.decision_log.keys import HashAlgorithm, SigningKey, check_algorithm
from tradeops.decision_log.reader import DEFAULT_MAX_LINE_BYTES
from tradeops.decision_log.writer import OPERATOR_LOCK_WAIT_SECONDS, DecisionLogWriter
from tradeops.domain.errors import UserInputError

SUMMARY_RUNTIME_FLAG = "verify_decision_log.summary"
DETACHED_LOG_ID = "detached"


def split_pair(text: str, flag: str) -> tuple[str, str]:
    """`K=V` -> (K, V); K must be non-empty, V may be empty."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise UserInputError(f"{flag} {text!r}: expected KEY=VALUE")
    return name.strip(), value


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


def parse_value(text: str) -> Any:
    """JSON when `text` parses as JSON, else the text itself.

    Numbers with a fraction or exponent stay exact decimal strings (no binary floats in the audit
    log); NaN and Infinity are kept as text.
    """
    try:
        return json.loads(text, parse_float=str, parse_constant=_refuse_constant)
    except ValueError:
        return text


def file_digest(path: str | Path, algorithm: str, flag: str) -> str:
    """`<alg>:<hex>` of the file's raw bytes."""
    digest = hashlib.new(algorithm)
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    except FileNotFoundError:
        raise UserInputError(f"{flag}: file {path} not found") from None
    except OSError as exc:
        raise UserInputError(f"{flag}: cannot read {path} ({exc.strerror})") from None
    return f"{algorithm}:{digest.hexdigest()}"


def normalise_tags(tags: Iterable[str]) -> list[str]:
    """Stripped, empty ones dropped, de-duplicated in order."""
    seen: dict[str, None] = {}
    for tag in tags:
        if tag.strip():
            seen.setdefault(tag.strip(), None)
    return list(seen)


def parse_runtime_flag(text: str) -> tuple[str, bool]:
    name, sep, value = text.partition("=")
    if not name.strip():
        raise UserInputError(f"--runtime-flag {text!r}: expected NAME or NAME=true|false")
    lowered = value.strip().lower()
    if not sep or lowered in ("1", "true", "yes", "on"):
        return name.strip(), True
    if lowered in ("0", "false", "no", "off"):
        return name.strip(), False
    raise UserInputError(f"--runtime-flag {text!r}: value must be true or false")


def _read_summary_document(path: str) -> Any:
    flag = f"--summary-json {path}"
    try:
        if path == "-":
            raw = sys.stdin.buffer.read()
        elif path.endswith(".gz"):
            with gzip.open(path, "rb") as handle:
                raw = handle.read()
        else:
            raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise UserInputError(f"{flag}: file not found") from None
    except (OSError, EOFError) as exc:
        raise UserInputError(f"{flag}: cannot read ({exc})") from None
    try:
        return json.loads(raw, parse_float=str, parse_constant=_refuse_constant)
    except ValueError as exc:
        raise UserInputError(f"{flag}: not valid JSON ({exc})") from None


@dataclass(frozen=True, slots=True)
class SummaryRequest:
    """Operator flags as given (K=V strings are parsed by build_summary)."""

    stage: str
    status: str
    kind: str = "snapshot"
    timestamp: str | None = None
    hash_algorithm: str = "sha256"
    artefacts: Sequence[str] = ()
    artefact_files: Sequence[str] = ()
    metadata: Sequence[str] = ()
    tags: Sequence[str] = ()
    runtime_flags: Sequence[str] = ()
    summary_json: str | None = None
    summary_hash_key: str | None = None


@dataclass(frozen=True, slots=True)
class SummaryEntry:
    """Fields for DecisionLogWriter.append."""

    kind: str
    stage: str
    status: str
    artefacts: dict[str, Any]
    metadata: dict[str, Any]
    tags: list[str]
    timestamp: str | None
    extra: dict[str, Any] = field(default_factory=dict)


def _put(target: dict[str, Any], name: str, value: Any, flag: str) -> None:
    if name in target:
        raise UserInputError(f"{flag}: key {name!r} given twice")
    target[name] = value


def _add_summary_json(
    request: SummaryRequest, alg: HashAlgorithm, artefacts: dict[str, Any]
) -> dict[str, Any]:
    assert request.summary_json is not None
    document = _read_summary_document(request.summary_json)
    if not isinstance(document, dict) or not isinstance(document.get("summary"), dict):
        raise UserInputError(
            f"--summary-json {request.summary_json}: expected an object with a 'summary' object"
        )
    try:
        digest = hashlib.new(alg, canonical_bytes(document["summary"])).hexdigest()
    except CanonicalJsonError as exc:
        raise UserInputError(f"--summary-json {request.summary_json}: {exc}") from None
    _put(artefacts, request.summary_hash_key or f"summary_{alg}", f"{alg}:{digest}", "--summary-json")
    metadata: dict[str, Any] = {"summary_path": request.summary_json}
    for source, target in (("signature", "summary_signature"), ("metadata", "summary_metadata")):
        if source in document:
            metadata[target] = document[source]
    return metadata


def build_summary(request: SummaryRequest) -> SummaryEntry:
    """Validate and resolve every flag (files are read and hashed here)."""
    alg = check_algorithm(request.hash_algorithm)
    for name in ("stage", "status", "kind"):
        if not getattr(request, name).strip():
            raise UserInputError(f"--{name} must not be empty")
    artefacts: dict[str, Any] = {}
    for text in request.artefacts:
        name, value = split_pair(text, "--artefact")
        _put(artefacts, name, parse_value(value), "--artefact")
    for text in request.artefact_files:
        name, path = split_pair(text, "--artefact-from-file")
        _put(artefacts, name, file_digest(path, alg, f"--artefact-from-file {text}"), "--artefact-from-file")
    metadata: dict[str, Any] = {}
    for text in request.metadata:
        name, value = split_pair(text, "--metadata")
        _put(metadata, name, parse_value(value), "--metadata")
    if request.summary_json is not None:
        for name, value in _add_summary_json(request, alg, artefacts).items():
            _put(metadata, name, value, "--summary-json")
    if not artefacts:
        raise UserInputError(
            "a decision-log entry needs at least one artefact: add --artefact K=V, "
            "--artefact-from-file K=PATH or --summary-json PATH"
        )
    flags = dict(parse_runtime_flag(text) for text in request.runtime_flags)
    flags.setdefault(SUMMARY_RUNTIME_FLAG, True)
    return SummaryEntry(
        kind=request.kind.strip(),
        stage=request.stage.strip(),
        status=request.status.strip(),
        artefacts=artefacts,
        metadata=metadata,
        tags=normalise_tags(request.tags),
        timestamp=utc_timestamp(request.timestamp) if request.timestamp else None,
        extra={"runtime_flags": flags},
    )


def _fields(entry: SummaryEntry) -> dict[str, Any]:
    return {
        "kind": entry.kind,
        "stage": entry.stage,
        "status": entry.status,
        "artefacts": entry.artefacts,
        "metadata": entry.metadata,
        "tags": entry.tags,
        "extra": entry.extra,
    }


def standalone_line(entry: SummaryEntry, key: SigningKey | None, algorithm: HashAlgorithm) -> bytes:
    """The signed entry on its own (what `summary` prints without --append): log id "detached",
    seq 1; it belongs to no log, so `verify` does not accept it as one."""
    stamp = entry.timestamp or utc_timestamp(datetime.now(UTC))
    _, line = encode_entry(
        **_fields(entry),
        timestamp=stamp,
        seq=1,
        prev_hash=genesis_hash(algorithm),
        log_id=DETACHED_LOG_ID,
        key=key,
    )
    return line


def append_summary(
    entry: SummaryEntry,
    path: str | Path,
    key: SigningKey | None,
    *,
    algorithm: HashAlgorithm,
    lock_timeout: float = OPERATOR_LOCK_WAIT_SECONDS,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> tuple[dict[str, Any], str]:
    """Append with fsync before returning; return (entry as written, new head)."""
    with DecisionLogWriter(
        path,
        key,
        fsync_mode="each",
        hash_algorithm=algorithm,
        lock_timeout=lock_timeout,
        max_line_bytes=max_line_bytes,
    ) as writer:
        written = writer.append(**_fields(entry), timestamp=entry.timestamp)
        return written, writer.head
