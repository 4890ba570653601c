"""Shared start-up of the runbook scripts: find the project's interpreter, then hand over to the CLI.

Run as `python scripts/<name>.py ...` with any Python: if tradeops is not importable, re-execute
with the repository's .venv/bin/python; if there is none, say how to create it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_PYTHON = REPO / ".venv" / "bin" / "python"


def run(command: list[str], script: str) -> None:
    try:
        from tradeops.cli.main import run_script
    except ImportError:
        # The venv's python is a symlink to a base interpreter: compare prefixes, not resolved paths.
        in_venv = Path(sys.prefix).resolve() == (REPO / ".venv").resolve()
        if VENV_PYTHON.exists() and not in_venv:
            os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), sys.argv[0], *sys.argv[1:]])
        sys.stderr.write("error: tradeops is not installed; run `make demo` (or `make setup`) first\n")
        sys.exit(2)
    sys.exit(run_script(command, script))
