"""Run one job of a GitHub Actions workflow on this machine (`tradeops alerts run-job`).

Enough of GitHub's runner to execute the Stage4 `validate_alerts` job outside GitHub, e.g. runbook
step 2 ("job validate_alerts in silence mode") in a drill or an acceptance test:

- `run:` steps execute with bash (`-eo pipefail`), in order, in the repository root; `uses:` steps
  (checkout, setup-python, upload-artifact) prepare a GitHub runner and are skipped and listed.
- Expressions `${{ ... }}` support literals, context paths (`inputs.*`, `env.*`, `secrets.*`,
  `github.*`), `!`, `==`, `!=`, `&&`, `||` and parentheses. `secrets.NAME` reads the environment
  variable NAME. `env.ACT` is "true", as with nektos/act, so steps that install the runner's
  toolchain can say `if: ${{ !env.ACT }}`.
- The first failing step stops the job; its exit code is the job's.
"""

from __future__ import annotations

import getpass
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tradeops.domain.errors import UserInputError

_TOKEN = re.compile(r"\s*(?:('(?:[^']|'')*')|(\d+(?:\.\d+)?)|(==|!=|&&|\|\||!|\(|\))|([A-Za-z_][\w.-]*))")
_EMBEDDED = re.compile(r"\$\{\{(.*?)\}\}", re.S)
_STEP_TIMEOUT_S = 1800


class _Parser:
    """Recursive descent over `||` < `&&` < `==`/`!=` < `!` < atoms; values follow GitHub's truthiness."""

    def __init__(self, text: str, lookup: Callable[[str], Any]) -> None:
        self.tokens: list[tuple[str, str]] = []
        position = 0
        while position < len(text.rstrip()):
            match = _TOKEN.match(text, position)
            if match is None:
                raise UserInputError(f"expression {text!r}: cannot parse near {text[position:]!r}")
            string, number, op, _name = match.groups()
            kind = "str" if string else "num" if number else "op" if op else "name"
            self.tokens.append((kind, match.group(0).strip()))
            position = match.end()
        self.lookup = lookup
        self.index = 0

    def _peek(self) -> str | None:
        return self.tokens[self.index][1] if self.index < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def parse(self) -> Any:
        value = self._or()
        if self.index != len(self.tokens):
            raise UserInputError(f"expression: unexpected {self._peek()!r}")
        return value

    def _or(self) -> Any:
        value = self._and()
        while self._peek() == "||":
            self._take()
            right = self._and()
            value = value if value else right
        return value

    def _and(self) -> Any:
        value = self._compare()
        while self._peek() == "&&":
            self._take()
            right = self._compare()
            value = right if value else value
        return value

    def _compare(self) -> Any:
        value = self._unary()
        while self._peek() in ("==", "!="):
            op = self._take()[1]
            right = self._unary()
            equal = str(value).lower() == str(right).lower()
            value = equal if op == "==" else not equal
        return value

    def _unary(self) -> Any:
        if self._peek() == "!":
            self._take()
            return not self._unary()
        return self._atom()

    def _atom(self) -> Any:
        if self.index >= len(self.tokens):
            raise UserInputError("expression ends too early")
        kind, text = self._take()
        if text == "(":
            value = self._or()
            if self._peek() != ")":
                raise UserInputError("expression: missing )")
            self._take()
            return value
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return float(text)
        if text in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[text]
        return self.lookup(text)


@dataclass
class JobContext:
    inputs: dict[str, str]
    environ: Mapping[str, str]
    env: dict[str, str] = field(default_factory=dict)
    github: dict[str, str] = field(default_factory=dict)

    def lookup(self, path: str) -> Any:
        head, _, rest = path.partition(".")
        if head == "inputs":
            return self.inputs.get(rest, "")
        if head == "env":
            return self.env.get(rest, self.environ.get(rest, ""))
        if head == "secrets":
            return self.environ.get(rest, "")
        if head == "github":
            return self.github.get(rest, "")
        raise UserInputError(
            f"expression uses {path!r}: only inputs, env, secrets and github are supported here"
        )

    def evaluate(self, expression: str) -> Any:
        return _Parser(expression, self.lookup).parse()

    def render(self, text: Any) -> str:
        return _EMBEDDED.sub(lambda m: _text(self.evaluate(m.group(1))), str(text))

    def condition(self, text: Any) -> bool:
        if text is None:
            return True
        stripped = str(text).strip()
        inner = _EMBEDDED.fullmatch(stripped)
        return bool(self.evaluate(inner.group(1) if inner else stripped))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass(frozen=True, slots=True)
class StepOutcome:
    name: str
    status: str  # ran, skipped (if: false), runner-only (uses:)
    exit_code: int = 0


def _inputs(document: dict[Any, Any], given: Mapping[str, str]) -> dict[str, str]:
    triggers = document.get("on", document.get(True)) or {}
    declared = (
        ((triggers.get("workflow_dispatch") or {}).get("inputs") or {}) if isinstance(triggers, dict) else {}
    )
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise UserInputError(f"--input {unknown[0]}: not an input of this workflow ({', '.join(declared)})")
    values = {name: _text(spec.get("default", "")) for name, spec in declared.items()}
    values.update(given)
    for name, spec in declared.items():
        options = spec.get("options")
        if options and values[name] not in [str(o) for o in options]:
            raise UserInputError(
                f"--input {name}={values[name]}: choose one of {', '.join(map(str, options))}"
            )
        if spec.get("required") and not values[name]:
            raise UserInputError(f"--input {name}=...: this input is required")
    return values


def run_job(
    workflow: Path,
    job_name: str,
    inputs: Mapping[str, str],
    *,
    cwd: Path,
    environ: Mapping[str, str] = os.environ,
    echo: Callable[[str], None] = print,
) -> tuple[int, list[StepOutcome]]:
    """Run the job's steps; returns (exit code, what happened to each step)."""
    document = yaml.safe_load(workflow.read_text(encoding="utf-8"))
    job = (document.get("jobs") or {}).get(job_name)
    if job is None:
        raise UserInputError(f"--job {job_name}: no such job in {workflow}")
    user = environ.get("USER") or getpass.getuser()
    context = JobContext(
        inputs=_inputs(document, inputs),
        environ=environ,
        github={"actor": user, "repository": "local/tradeops", "run_id": "local", "server_url": "file://"}
        | {"ref": "local", "event_name": "workflow_dispatch", "workspace": str(cwd)},
    )
    context.env["ACT"] = "true"
    for scope in (document.get("env") or {}, job.get("env") or {}):
        context.env.update({str(k): context.render(v) for k, v in scope.items()})
    outcomes: list[StepOutcome] = []
    with tempfile.TemporaryDirectory(prefix="tradeops-job-") as scratch:
        summary = Path(scratch) / "step_summary.md"
        base_env = {
            **environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{environ.get('PATH', '')}",
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_ACTOR": user,
            "GITHUB_WORKSPACE": str(cwd),
            "CI": "true",
        }
        for index, step in enumerate(job.get("steps") or [], 1):
            name = str(step.get("name") or step.get("uses") or f"step {index}")
            if not context.condition(step.get("if")):
                outcomes.append(StepOutcome(name, "skipped"))
                continue
            if "uses" in step:
                echo(f"-- {name}: GitHub runner setup, not run locally")
                outcomes.append(StepOutcome(name, "runner-only"))
                continue
            # An empty value (typically a secret not provided locally) keeps the inherited variable.
            rendered = {str(k): context.render(v) for k, v in (step.get("env") or {}).items()}
            step_env = {k: v for k, v in rendered.items() if v != ""}
            echo(f"-- {name}")
            done = subprocess.run(
                ["bash", "-eo", "pipefail", "-c", context.render(step["run"])],
                cwd=cwd,
                env={**base_env, **context.env, **step_env},
                timeout=_STEP_TIMEOUT_S,
                check=False,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
            )
            if done.stdout:
                echo(done.stdout.rstrip("\n"))  # the job log holds every step's output
            outcomes.append(StepOutcome(name, "ran", done.returncode))
            if done.returncode != 0:
                echo(f"-- {name}: failed with exit {done.returncode}")
                return done.returncode, outcomes
        if summary.exists():
            echo(summary.read_text(encoding="utf-8").rstrip())
    return 0, outcomes
