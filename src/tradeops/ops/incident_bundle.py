"""`tradeops incident bundle <id>` and `incident verify <id>`: collect an incident's artefacts into
`<incidents.directory>/<id>/`, list each file with its sha384 in `manifest.json`, and seal the
manifest's digest into the operations log (kind incident_bundle, status sealed). Use cases:
`build_bundle(ctx, BuildBundle) -> BundleBuilt` and `verify_bundle(ctx, VerifyBundle) ->
BundleVerified`; the incident is replayed through `incident_control.show`, the seal is appended
through `ctx.operator_log`, and that log is verified with `ctx.keys`.

Collected: the incident record; its decision-log entries (raw lines, so their signatures still
verify) and the operations log's anchored head; every override file the kill switch saw during the
window and each removal; the silences (id, matchers, expiry) and the workflow job logs; the smoke,
watcher, load-test and rollback reports written during the window; dashboard snapshots (one PNG per
panel of the shipped Stage4 dashboard, from Prometheus). What cannot be produced is listed in the
manifest under `unavailable` with the reason, and the rest is sealed all the same.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tradeops.bootstrap.host import override_history_dir
from tradeops.config.models import AppConfig
from tradeops.decision_log.anchor import anchor_path, read_anchor
from tradeops.decision_log.reader import iter_entries
from tradeops.decision_log.verify import verify_log
from tradeops.domain.errors import UserInputError
from tradeops.fsutil import atomic_write_bytes, fsync_dir
from tradeops.observability.snapshots import PrometheusUnavailable, render_snapshots
from tradeops.ops.config_handoff import sha384
from tradeops.ops.incident_control import ShowIncident, show
from tradeops.ops.incident_model import Incident
from tradeops.ops_ports import OpsContext

MANIFEST = "manifest.json"
SCHEMA = "tradeops.incident_bundle"
MAX_REPORT_BYTES = 16 * 1024 * 1024
REPORT_GLOBS = (
    "logs/load_tests/*.json",
    "logs/load_tests/*.html",
    "logs/metrics_watch/*",
    "logs/smoke/*",
    "logs/workflow_jobs/*.log",
    "var/paper_smoke_ci/*.json",
    "var/audit/stage4/*.json",
    "audit/security/*.json",
    "silence.json",
)
DASHBOARD = Path("deploy/grafana/provisioning/dashboards/stage4_multi_strategy.json")


@dataclass(frozen=True)
class BuildBundle:
    """Bundle one incident; the context's environment log also feeds the bundled entries."""

    incident_id: str
    prometheus_url: str | None = None  # default observability.prometheus.url
    root: Path = Path()  # the project directory (reports and the dashboard are found from here)


@dataclass(frozen=True)
class VerifyBundle:
    incident_id: str
    root: Path = Path()


@dataclass(frozen=True)
class BundleBuilt:
    incident_id: str
    directory: Path
    files: int
    unavailable: tuple[dict[str, str], ...]
    manifest_sha384: str
    snapshots: int


@dataclass(frozen=True)
class BundleVerified:
    incident_id: str
    ok: bool
    changed: tuple[str, ...]
    missing: tuple[str, ...]
    added: tuple[str, ...]
    problems: tuple[str, ...]  # manifest / seal problems

    def lines(self) -> list[str]:
        out = [f"changed: {p}" for p in self.changed] + [f"missing: {p}" for p in self.missing]
        return [*self.problems, *out, *(f"added: {p}" for p in self.added)]


def _ts(value: str | None) -> float | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _window(incident: Incident) -> tuple[float, float]:
    start = _ts(incident.opened_at) or datetime.now(UTC).timestamp()
    end = _ts(incident.closed_at) or datetime.now(UTC).timestamp()
    return start, max(end, start + 1.0)


def _copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    with src.open("rb") as handle:
        data = handle.read(MAX_REPORT_BYTES + 1)
    if len(data) > MAX_REPORT_BYTES:
        raise ValueError(f"larger than {MAX_REPORT_BYTES} bytes")
    dst.write_bytes(data)


def _lines_of(incident: Incident, log: Path, kinds: frozenset[str] | None = None) -> set[int]:
    """Line numbers in `log` of the incident's timeline events (of `kinds`, when given)."""
    found = set()
    for event in incident.timeline:
        name, _, line = event.source.rpartition(":")
        if name == log.name and line.isdigit() and (kinds is None or event.kind in kinds):
            found.add(int(line))
    return found


def _entries(stage: Path, incident: Incident, logs: tuple[Path, ...]) -> None:
    """The raw lines the incident's timeline names, per log, in log order."""
    out = stage / "decision_log"
    out.mkdir(parents=True, exist_ok=True)
    for path in logs:
        lines = _lines_of(incident, path)
        if not lines or not path.is_file():
            continue
        with path.open("rb") as handle, (out / f"{path.stem}.entries.jsonl").open("wb") as sink:
            for number, raw in enumerate(handle, 1):
                if number in lines:
                    sink.write(raw if raw.endswith(b"\n") else raw + b"\n")


def _head(stage: Path, ctx: OpsContext, log: Path) -> None:
    """The operations log's anchored head: the signed anchor file and what verifying the log says."""
    key = ctx.keys.signing_key()
    keyring = {key.key_id: key}
    anchor, problem = read_anchor(log, keyring)
    result = verify_log(log, keyring=keyring)
    head = {
        "log": str(log),
        "verified": result.ok,
        "entries": result.entries,
        "head": result.head,
        "problem": result.reason,
        "anchor": None
        if anchor is None
        else {"log_id": anchor.log_id, "seq": anchor.seq, "head": anchor.head},
        "anchor_problem": problem,
    }
    if anchor_path(log).is_file():
        _copy(anchor_path(log), stage / "decision_log" / anchor_path(log).name)
    atomic_write_bytes(stage / "decision_log" / "head.json", (json.dumps(head, indent=2) + "\n").encode())


def _in_window(path: Path, window: tuple[float, float]) -> bool:
    mtime = path.stat().st_mtime
    return window[0] - 1.0 <= mtime <= window[1] + 1.0


def _silences(stage: Path, incident: Incident, log: Path) -> int:
    lines = _lines_of(incident, log, frozenset({"alert_silence"}))
    found = [
        {
            "silence_id": entry.get("artefacts", {}).get("silence_id"),
            "matchers": entry.get("metadata", {}).get("matchers")
            or entry.get("artefacts", {}).get("matchers"),
            "ends_at": entry.get("artefacts", {}).get("ends_at") or entry.get("metadata", {}).get("ends_at"),
            "status": entry.get("status"),
            "ticket": entry.get("artefacts", {}).get("ticket"),
            "logged_at": entry.get("timestamp"),
        }
        for number, entry in (iter_entries(log) if log.is_file() else ())
        if number in lines
    ]
    atomic_write_bytes(stage / "silences" / "silences.json", (json.dumps(found, indent=2) + "\n").encode())
    return len(found)


def _files(stage: Path, root: Path, cfg: AppConfig, window: tuple[float, float]) -> list[dict[str, str]]:
    skipped: list[dict[str, str]] = []
    history = override_history_dir(root / cfg.runtime.overrides_dir)
    for path in sorted(history.glob("*.json")) if history.is_dir() else ():
        if _in_window(path, window):
            _copy(path, stage / "overrides" / path.name)
    for pattern in REPORT_GLOBS:
        for path in sorted(root.glob(pattern)):
            if not path.is_file() or not _in_window(path, window):
                continue
            try:
                _copy(path, stage / "reports" / path.relative_to(root))
            except (OSError, ValueError) as exc:
                skipped.append({"artefact": str(path.relative_to(root)), "why": str(exc)})
    return skipped


def _snapshots(
    stage: Path, cfg: AppConfig, command: BuildBundle, window: tuple[float, float]
) -> tuple[int, str | None]:
    url = command.prometheus_url or cfg.observability.prometheus.url
    if not url:
        return 0, "no Prometheus configured (observability.prometheus.url or --prometheus-url)"
    source = command.root / DASHBOARD
    if source.is_file():
        document = json.loads(source.read_text(encoding="utf-8"))
    else:
        from tradeops.observability.dashboard import dashboard_json

        document = json.loads(dashboard_json())
    try:
        shots = render_snapshots(
            document,
            url,
            window,
            stage / "dashboard",
            scrape_interval_s=cfg.observability.prometheus.scrape_interval_seconds,
        )
    except PrometheusUnavailable as exc:
        return 0, str(exc)
    index = {
        "dashboard": document.get("title"),
        "window": list(window),
        "panels": [s.to_dict() for s in shots],
    }
    atomic_write_bytes(stage / "dashboard" / "index.json", (json.dumps(index, indent=2) + "\n").encode())
    return len(shots), None


def _listing(stage: Path) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for path in sorted(p for p in stage.rglob("*") if p.is_file()):
        rel = path.relative_to(stage).as_posix()
        if rel != MANIFEST:
            data = path.read_bytes()
            out[rel] = {"sha384": sha384(data), "bytes": len(data)}
    return out


def _places(ctx: OpsContext, root: Path, incident_id: str) -> tuple[Path, Path]:
    """The bundle's directory and the operations log its seal goes to."""
    return root / ctx.cfg.incidents.directory / incident_id, ctx.operator_log.path


def build_bundle(ctx: OpsContext, command: BuildBundle) -> BundleBuilt:
    """Collect, list and seal the bundle of one incident (rebuilt from the logs)."""
    cfg = ctx.cfg
    incident = show(ctx, ShowIncident(command.incident_id)).incident
    root = command.root
    target, log = _places(ctx, root, incident.id)
    window = _window(incident)
    target.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{incident.id}.", dir=target.parent))
    try:
        for suffix in (".json", ".md"):
            record = root / cfg.incidents.directory / f"{incident.id}{suffix}"
            if record.is_file():
                _copy(record, stage / "incident" / record.name)
        env_log = root / cfg.decision_log_path(ctx.environment)
        _entries(stage, incident, (log,) if env_log == log else (log, env_log))
        unavailable = _files(stage, root, cfg, window)
        _silences(stage, incident, log)
        shots, why = _snapshots(stage, cfg, command, window)
        if why is not None:
            unavailable.append({"artefact": "dashboard snapshots", "why": why})
        _head(stage, ctx, log)  # last: the head covers every entry so far
        listing = _listing(stage)
        manifest = {
            "schema": SCHEMA,
            "incident_id": incident.id,
            "ticket": incident.ticket,
            "window": {"from": incident.opened_at, "to": incident.closed_at},
            "built_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "files": listing,
            "unavailable": unavailable,
        }
        data = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
        atomic_write_bytes(stage / MANIFEST, data)
        digest = sha384(data)
        old = target.with_name(f".{incident.id}.replaced")
        if target.exists():
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
        stage.rename(target)
        fsync_dir(target.parent)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    ctx.operator_log.append(
        kind="incident_bundle",
        status="sealed",
        artefacts={"incident_id": incident.id, "ticket": incident.ticket, "manifest_sha384": digest},
        metadata={"directory": str(target), "files": len(listing), "unavailable": unavailable},
        tags=("incident", incident.id),
    )
    return BundleBuilt(incident.id, target, len(listing), tuple(unavailable), digest, shots)


def _sealed_digest(log: Path, incident_id: str) -> str | None:
    found = None
    for _number, entry in iter_entries(log) if log.is_file() else ():
        artefacts = entry.get("artefacts") or {}
        if entry.get("kind") == "incident_bundle" and artefacts.get("incident_id") == incident_id:
            found = artefacts.get("manifest_sha384")
    return found if isinstance(found, str) else None


def verify_bundle(ctx: OpsContext, command: VerifyBundle) -> BundleVerified:
    """Compare the bundle with its manifest and the manifest with its signed seal."""
    incident_id = command.incident_id
    target, log = _places(ctx, command.root, incident_id)
    manifest_path = target / MANIFEST
    if not manifest_path.is_file():
        raise UserInputError(
            f"incident {incident_id}: no bundle at {target} (run `tradeops incident bundle {incident_id}`)"
        )
    data = manifest_path.read_bytes()
    problems: list[str] = []
    key = ctx.keys.signing_key()
    checked = verify_log(log, keyring={key.key_id: key})
    if not checked.ok:
        problems.append(f"{log}: does not verify (line {checked.first_error_line}: {checked.reason})")
    sealed = _sealed_digest(log, incident_id)
    if sealed is None:
        problems.append(f"{MANIFEST}: no incident_bundle entry for {incident_id} in {log}")
    elif sealed != sha384(data):
        problems.append(f"{MANIFEST}: digest differs from the one sealed in {log}")
    try:
        listed: dict[str, Any] = json.loads(data)["files"]
    except (ValueError, KeyError, TypeError):
        return BundleVerified(
            incident_id, False, (), (), (), (*problems, f"{MANIFEST}: not a bundle manifest")
        )
    present = _listing(target)
    changed = tuple(p for p in listed if p in present and present[p]["sha384"] != listed[p].get("sha384"))
    missing = tuple(p for p in listed if p not in present)
    added = tuple(p for p in present if p not in listed)
    ok = not (problems or changed or missing or added)
    return BundleVerified(incident_id, ok, changed, missing, added, tuple(problems))
