"""`tradeops config apply` (and POST /v1/config/apply): validate a configuration file, diff it against
what the running scheduler runs, sign a `config_change` entry (diff, sha384, Git commit) and hand it
to the scheduler, then wait (bounded) for the scheduler's own answer.

With no scheduler running, the entry is recorded and the change applies at the next start.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from tradeops.config.load import read_config_text, validate_config_file, validate_config_text
from tradeops.config.models import AppConfig
from tradeops.config.overrides import format_timestamp
from tradeops.domain.errors import ConfigError, UserInputError
from tradeops.fsutil import atomic_write_bytes
from tradeops.ops.config_diff import ConfigDiff, diff_configs
from tradeops.ops.config_git import GitState, file_at_commit, git_state
from tradeops.ops.config_handoff import (
    handoff_dir,
    read_result,
    read_running,
    sha384,
    write_pending,
)
from tradeops.ops.controls import Actor, change_reason
from tradeops.ops_ports import OpsContext

MAX_WAIT_SECONDS = 120.0


@dataclass(frozen=True)
class ApplyConfig:
    """Apply `config_path`; `from_git` names the commit it was restored from (restore_from_git)."""

    config_path: Path
    reason: str
    ticket: str
    actor: Actor
    from_git: str | None = None
    wait_seconds: float = 15.0


@dataclass(frozen=True)
class ConfigApplied:
    """What happened: applied, refused, recorded (no scheduler running), unconfirmed, unchanged."""

    status: str
    request_id: str
    digest: str
    diff: ConfigDiff | None
    problems: tuple[str, ...]
    git: GitState | None
    scheduler_pid: int | None

    @property
    def ok(self) -> bool:
        return self.status in ("applied", "recorded", "unchanged")

    def to_dict(self) -> dict[str, object]:
        return {
            "status": self.status,
            "request_id": self.request_id,
            "config_sha384": self.digest,
            "problems": list(self.problems),
            "git": self.git.to_dict() if self.git else None,
            "scheduler_pid": self.scheduler_pid,
            **(self.diff.summary() if self.diff else {"changes": None}),
        }


def _validated(path: Path) -> tuple[AppConfig, bytes]:
    """The file's bytes and config; every problem (file:line) or a change while validating refuses."""
    if not path.is_file():
        raise UserInputError(f"--config {path}: no such file")
    before = read_config_text(path).encode("utf-8")
    cfg, problems = validate_config_file(path)
    if cfg is None:
        raise ConfigError(problems[0], problems)
    after = read_config_text(path).encode("utf-8")
    if sha384(after) != sha384(before):
        raise UserInputError(
            f"{path}: changed while it was being validated (digest differs); nothing applied"
        )
    return cfg, before


def restore_from_git(path: Path, commit: str) -> None:
    """Write `commit`'s version of `path` in its place, after validating it (all problems or nothing)."""
    text, source = file_at_commit(path, commit)
    cfg, problems = validate_config_text(text, source)
    if cfg is None:
        raise ConfigError(problems[0], problems)
    atomic_write_bytes(
        path, text.encode("utf-8"), mode=path.stat().st_mode & 0o777 if path.exists() else 0o644
    )


def _wait(directory: Path, request_id: str, seconds: float) -> dict[str, object] | None:
    deadline = time.monotonic() + max(0.0, min(seconds, MAX_WAIT_SECONDS))
    while True:
        result = read_result(directory)
        if result is not None and result.get("request_id") == request_id:
            return result
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.05)


def apply_config(ctx: OpsContext, command: ApplyConfig) -> ConfigApplied:
    why, ticket = change_reason(ctx, command.reason, command.ticket)
    path = command.config_path
    new, text = _validated(path)
    digest = sha384(text)
    directory = handoff_dir(ctx.cfg, ctx.environment)
    running = read_running(directory)
    alive = running is not None and running.alive()
    base = validate_config_text(running.text.decode("utf-8"), "running")[0] if running else None
    diff = diff_configs(base, new) if base is not None else None
    git = git_state(path)
    request_id = f"cfg-{format_timestamp(ctx.clock_ms())}-{secrets.token_hex(3)}"
    pid = running.pid if alive and running else None
    if alive and diff is not None and not diff.changes:
        return ConfigApplied("unchanged", request_id, digest, diff, (), git, pid)
    if alive and diff is not None and not diff.live:
        return ConfigApplied("refused", request_id, digest, diff, diff.restart_required, git, pid)
    ctx.operator_log.append(
        kind="config_change",
        status="requested" if alive else "recorded",
        artefacts={
            "config_path": str(path),
            "config_sha384": digest,
            "git_commit": git.commit if git else None,
            "ticket": ticket,
            "request_id": request_id,
            "environment": ctx.environment,
        },
        metadata={
            "reason": why,
            "requested_by": command.actor.name,
            **command.actor.metadata(),
            "from_git": command.from_git,
            "git_dirty": git.dirty if git else None,
            "scheduler_pid": pid,
            **(diff.summary() if diff else {"changes": None}),
        },
        tags=("config_change",),
    )
    if not alive:
        return ConfigApplied("recorded", request_id, digest, diff, (), git, None)
    write_pending(
        directory,
        request_id=request_id,
        text=text,
        source=str(path),
        requested_at=format_timestamp(ctx.clock_ms()),
        ticket=ticket,
    )
    answer = _wait(directory, request_id, command.wait_seconds)
    if answer is None:
        return ConfigApplied("unconfirmed", request_id, digest, diff, (), git, pid)
    problems = answer.get("problems")
    return ConfigApplied(
        str(answer.get("status")),
        request_id,
        digest,
        diff,
        tuple(str(p) for p in problems) if isinstance(problems, list) else (),
        git,
        pid,
    )
