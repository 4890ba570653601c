"""Run the steps of a GitHub Actions job locally, verbatim: `run:` scripts under bash, with the
step's `env:` expressions (`${{ inputs.x }}`, `${{ secrets.y }}`, `${{ a || b }}`) evaluated from a
context. Enough for the Stage4 workflow's shell steps; `uses:` steps are skipped (and listed)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def _value(term: str, context: dict[str, Any]) -> str:
    term = term.strip()
    if term.startswith("'") and term.endswith("'"):
        return term[1:-1]
    node: Any = context
    for part in term.split("."):
        node = node.get(part, "") if isinstance(node, dict) else ""
    return "" if node is None else str(node)


def evaluate(text: str, context: dict[str, Any]) -> str:
    def substitute(match: re.Match[str]) -> str:
        for alternative in match.group(1).split("||"):
            value = _value(alternative, context)
            if value:
                return value
        return ""

    return EXPRESSION.sub(substitute, text)


def _condition(step: dict[str, Any], env: dict[str, str]) -> bool:
    condition = step.get("if")
    if condition is None:
        return True
    match = re.fullmatch(r"env\.(\w+)\s*==\s*'([^']*)'", str(condition).strip())
    if match is None:
        raise ValueError(f"unsupported condition {condition!r}")
    return env.get(match.group(1)) == match.group(2)


def run_job(
    workflow: Path, job: str, context: dict[str, Any], cwd: Path, base_env: dict[str, str]
) -> tuple[list[tuple[str, subprocess.CompletedProcess[str]]], list[str]]:
    """Run the job's mode-specific shell steps (those with an `if:` that holds); return them as
    (name, result) and list the skipped setup steps (`uses:` actions, the unconditional install:
    the stage already has tradeops installed)."""
    document = yaml.safe_load(workflow.read_text())
    spec = document["jobs"][job]
    job_env = {k: evaluate(str(v), context) for k, v in (spec.get("env") or {}).items()}
    ran, skipped = [], []
    for step in spec["steps"]:
        env = {**base_env, **job_env}
        if not _condition(step, env):
            continue
        if "uses" in step or "if" not in step:
            skipped.append(step.get("uses") or step.get("name", "setup"))
            continue
        env.update({k: evaluate(str(v), context) for k, v in (step.get("env") or {}).items()})
        result = subprocess.run(
            ["bash", "-e", "-c", step["run"]],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        ran.append((step.get("name", step["run"][:40]), result))
        if result.returncode != 0:
            break
    return ran, skipped
