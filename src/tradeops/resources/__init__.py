"""The project files that ship with the package: default config, deploy/, runbooks, the actionlint runner.

One source of truth: the files in the repository (config/core.yaml, deploy/, docs/runbooks/, tools/).
Building the wheel copies them under `tradeops/resources/project/` (setup.py, `build_py`); in a source
checkout (editable install) they are read from the checkout itself, so a copy can never drift.
`tradeops init` writes them out into a project directory. Standard library only: setup.py loads this
file before the package is installed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

# Paths relative to the project root: a file, or a directory taken whole (recursively).
SOURCES = (
    "config/core.yaml",
    "deploy",
    "docs/runbooks",
    "tools/package.json",
    "tools/package-lock.json",
    "tools/actionlint.cjs",
)
# Inside the package the tree lives here (never in the repository: .gitignore'd, built on demand).
PACKAGED_DIR = "project"
# Written by `tradeops init` from a file that ships once (GitHub reads workflows from .github/ only).
DERIVED = {
    ".github/workflows/stage4_multi_strategy.yml": "deploy/ci/github_actions_stage4_multi_strategy.yml",
}
_SKIP = frozenset({"__pycache__", "node_modules", ".DS_Store"})


class ResourcesMissingError(RuntimeError):
    """Neither the installed package nor a source checkout holds the project files (a broken install)."""


def source_files(root: Path) -> Iterator[str]:
    """The relative paths of every shipped file under `root`, in a stable order."""
    for entry in SOURCES:
        path = root / entry
        if path.is_file():
            yield entry
        elif path.is_dir():
            for found in sorted(path.rglob("*")):
                parts = found.relative_to(root).parts
                if found.is_file() and not _SKIP.intersection(parts) and not found.name.endswith(".pyc"):
                    yield "/".join(parts)


def _checkout_root() -> Path | None:
    # src/tradeops/resources/__init__.py -> the repository root, when running from a checkout.
    root = Path(__file__).resolve().parents[3]
    if (root / "pyproject.toml").is_file() and all((root / entry).exists() for entry in SOURCES):
        return root
    return None


def project_root() -> Path:
    """The directory holding the shipped files: the packaged copy if built, else the source checkout."""
    packaged = Path(__file__).resolve().parent / PACKAGED_DIR
    if packaged.is_dir():
        return packaged
    checkout = _checkout_root()
    if checkout is None:
        raise ResourcesMissingError(
            f"tradeops is installed without its project files (no {packaged}): reinstall the wheel"
        )
    return checkout


def project_files() -> dict[str, bytes]:
    """Relative path -> content of every file `tradeops init` writes from the package (not README)."""
    root = project_root()
    files = {rel: (root / rel).read_bytes() for rel in source_files(root)}
    for target, source in DERIVED.items():
        files[target] = files[source]
    return files
