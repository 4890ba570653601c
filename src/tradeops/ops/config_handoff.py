"""The channel between `tradeops config apply` and a running scheduler: files under
`var/runtime/config/<environment>/`, each written atomically.

- `running.yaml` + `running.json`: the configuration text the scheduler runs, its sha384, the
  scheduler's pid and the last request it applied (written at start and after every apply).
- `pending.yaml` + `pending.json`: a validated configuration handed over, with its sha384 and the
  request id. The scheduler reads it at a cycle boundary; a manifest that does not parse, a missing
  text or a text whose digest differs from the manifest is refused (fail closed: the running
  configuration stays).
- `result.json`: the scheduler's answer to a request (applied or refused, and why).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradeops.config.models import AppConfig
from tradeops.fsutil import atomic_write_bytes, atomic_write_json

SCHEMA = "tradeops.config_handoff"
MAX_MANIFEST_BYTES = 64 * 1024
MAX_TEXT_BYTES = 4 * 1024 * 1024  # larger than any config the loader accepts


class HandoffError(Exception):
    """A pending handoff that cannot be trusted (one line: which file and why)."""


def sha384(data: bytes) -> str:
    return "sha384:" + hashlib.sha384(data).hexdigest()


def handoff_dir(cfg: AppConfig, environment: str) -> Path:
    return Path(cfg.runtime.overrides_dir).parent / "config" / environment


@dataclass(frozen=True)
class Pending:
    request_id: str
    digest: str
    text: bytes
    source: str
    ticket: str


@dataclass(frozen=True)
class Running:
    pid: int | None
    digest: str
    text: bytes
    config_path: str
    request_id: str | None

    def alive(self) -> bool:
        if self.pid is None:
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True  # another user's process: it exists
        return True


def _read_bounded(path: Path, limit: int) -> bytes:
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise HandoffError(f"{path}: larger than {limit} bytes")
    return data


def _manifest(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(_read_bounded(path, MAX_MANIFEST_BYTES))
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as exc:
        raise HandoffError(f"{path}: not a readable JSON manifest ({exc})") from None
    if not isinstance(document, dict) or document.get("schema") != SCHEMA:
        raise HandoffError(f"{path}: not a {SCHEMA} manifest")
    return document


def _text(directory: Path, stem: str, document: dict[str, Any]) -> tuple[bytes, str]:
    digest = document.get("sha384")
    if not isinstance(digest, str) or not digest.startswith("sha384:"):
        raise HandoffError(f"{directory / (stem + '.json')}: sha384 missing")
    path = directory / f"{stem}.yaml"
    try:
        text = _read_bounded(path, MAX_TEXT_BYTES)
    except FileNotFoundError:
        raise HandoffError(f"{path}: missing (the manifest names a configuration)") from None
    except OSError as exc:
        raise HandoffError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if sha384(text) != digest:
        raise HandoffError(
            f"{path}: digest {sha384(text)[:19]}... differs from the manifest's {digest[:19]}..."
        )
    return text, digest


def write_pending(
    directory: Path, *, request_id: str, text: bytes, source: str, requested_at: str, ticket: str
) -> None:
    """Text first, manifest last: a reader never sees a manifest whose text is not in place."""
    atomic_write_bytes(directory / "pending.yaml", text, mode=0o600)
    atomic_write_json(
        directory / "pending.json",
        {
            "schema": SCHEMA,
            "request_id": request_id,
            "sha384": sha384(text),
            "source": source,
            "requested_at": requested_at,
            "ticket": ticket,
        },
        mode=0o600,
    )


def read_pending(directory: Path) -> Pending | None:
    """The pending handoff, None when there is none; HandoffError when it cannot be trusted."""
    try:
        document = _manifest(directory / "pending.json")
    except FileNotFoundError:
        return None
    request_id = document.get("request_id")
    if not isinstance(request_id, str) or not request_id:
        raise HandoffError(f"{directory / 'pending.json'}: request_id missing")
    text, digest = _text(directory, "pending", document)
    ticket = document.get("ticket")
    return Pending(
        request_id, digest, text, str(document.get("source", "")), ticket if isinstance(ticket, str) else ""
    )


def pending_request_id(directory: Path) -> str | None:
    """The request id of a pending manifest, if it can be read at all (to answer a refused one)."""
    try:
        document = json.loads(_read_bounded(directory / "pending.json", MAX_MANIFEST_BYTES))
    except (OSError, ValueError, HandoffError):
        return None
    value = document.get("request_id") if isinstance(document, dict) else None
    return value if isinstance(value, str) else None


def clear_pending(directory: Path) -> None:
    for name in ("pending.json", "pending.yaml"):
        (directory / name).unlink(missing_ok=True)


def write_running(
    directory: Path, *, pid: int | None, text: bytes, config_path: str, request_id: str | None
) -> None:
    atomic_write_bytes(directory / "running.yaml", text, mode=0o600)
    atomic_write_json(
        directory / "running.json",
        {
            "schema": SCHEMA,
            "pid": pid,
            "sha384": sha384(text),
            "config_path": config_path,
            "request_id": request_id,
        },
        mode=0o600,
    )


def read_running(directory: Path) -> Running | None:
    try:
        document = _manifest(directory / "running.json")
        text, digest = _text(directory, "running", document)
    except (FileNotFoundError, HandoffError):
        return None
    pid = document.get("pid")
    request_id = document.get("request_id")
    return Running(
        pid if isinstance(pid, int) else None,
        digest,
        text,
        str(document.get("config_path", "")),
        request_id if isinstance(request_id, str) else None,
    )


def write_result(directory: Path, result: dict[str, object]) -> None:
    atomic_write_json(directory / "result.json", {"schema": SCHEMA, **result}, mode=0o600)


def read_result(directory: Path) -> dict[str, Any] | None:
    try:
        document = _manifest(directory / "result.json")
    except (FileNotFoundError, HandoffError):
        return None
    return document
