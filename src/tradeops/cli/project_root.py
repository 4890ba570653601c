"""The project root is found, not assumed: the directory holding `config/core.yaml` (or the project of
TRADEOPS_CONFIG). Every relative path of the tools (config, logs, overrides, state, reports) then
means the same file from any working directory."""

from __future__ import annotations

import os
import sys
from pathlib import Path

CONFIG_ENV = "TRADEOPS_CONFIG"
MARKER = Path("config") / "core.yaml"
EXEMPT = frozenset({"init", "completion", "exchange-sim"})  # they create or need no project


def project_of(config: Path) -> Path:
    """`<root>/config/core.yaml` -> `<root>`; a config elsewhere -> its own directory."""
    parent = config.parent
    return parent.parent if parent.name == "config" else parent


def find_root(cwd: Path, environ: os._Environ[str] | dict[str, str]) -> Path | None:
    named = environ.get(CONFIG_ENV)
    if named:
        return project_of((cwd / named).resolve())
    for candidate in (cwd, *cwd.parents):
        if (candidate / MARKER).is_file():
            return candidate
    return None


def enter_project_root(
    args: list[str], environ: os._Environ[str] | dict[str, str] | None = None
) -> Path | None:
    """chdir to the project root when it is not the working directory, and say so on stderr.

    A relative TRADEOPS_CONFIG is made absolute first (it was meant from where the user stood)."""
    if args and args[0] in EXEMPT:
        return None
    env = os.environ if environ is None else environ
    cwd = Path.cwd()
    named = env.get(CONFIG_ENV)
    if named and not Path(named).is_absolute():
        env[CONFIG_ENV] = str((cwd / named).resolve())
    root = find_root(cwd, env)
    if root is None or not root.is_dir() or root.resolve() == cwd.resolve():
        return None
    os.chdir(root)
    print(f"project root: {root} (not the working directory {cwd})", file=sys.stderr)
    return root
