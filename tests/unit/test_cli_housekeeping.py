"""What users expect around the CLI: --version, shell completion, `make help`, the LICENSE."""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tradeops.cli.main import main

REPO = Path(__file__).resolve().parents[2]
TRADEOPS = Path(sys.executable).parent / "tradeops"


def test_version_is_the_installed_distribution_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"tradeops, version {importlib.metadata.version('tradeops')}\n"


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "complete -o nosort -F _tradeops_completion tradeops"),
        ("zsh", "compdef _tradeops_completion tradeops"),
        ("fish", "complete --no-files --command tradeops"),
    ],
)
def test_completion_prints_the_script_for_each_shell(
    shell: str, marker: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["completion", shell]) == 0
    script = capsys.readouterr().out
    assert marker in script and f"_TRADEOPS_COMPLETE={shell}_complete" in script


def test_completion_of_an_unknown_shell_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", "tcsh"]) == 2
    assert "'tcsh' is not one of 'bash', 'zsh', 'fish'" in capsys.readouterr().err


def test_the_bash_script_registers_and_completes_commands() -> None:
    bash = shutil.which("bash")
    assert bash is not None
    env = {**os.environ, "PATH": f"{TRADEOPS.parent}{os.pathsep}{os.environ['PATH']}"}
    registered = subprocess.run(
        [bash, "-c", 'eval "$(tradeops completion bash)" && complete -p tradeops'],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert "_tradeops_completion tradeops" in registered.stdout
    # What the registered function asks tradeops for when the user types `tradeops in<TAB>`.
    env |= {"_TRADEOPS_COMPLETE": "bash_complete", "COMP_WORDS": "tradeops in", "COMP_CWORD": "1"}
    done = subprocess.run([TRADEOPS], env=env, capture_output=True, text=True, timeout=60, check=True)
    assert set(done.stdout.split()) == {"plain,incident", "plain,init"}


def test_make_help_lists_every_target() -> None:
    make = shutil.which("make")
    assert make is not None
    done = subprocess.run(
        [make, "-s", "help"], cwd=REPO, capture_output=True, text=True, timeout=60, check=True
    )
    listed = re.findall(r"^  make (\S+) +\S", done.stdout, re.M)
    phony = re.search(r"^\.PHONY: (.+)$", (REPO / "Makefile").read_text(), re.M)
    assert phony is not None
    assert set(listed) == set(phony.group(1).split())
    assert {"demo", "test", "tools"} <= set(listed)


def test_license_file_matches_the_metadata() -> None:
    text = (REPO / "LICENSE").read_text()
    assert text.lstrip().startswith("Apache License\n") and "Version 2.0, January 2004" in text
    assert importlib.metadata.metadata("tradeops")["License-Expression"] == "Apache-2.0"
