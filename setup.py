"""Build hook: copy the project files (config, deploy/, runbooks, tools) into the wheel as package data.

The list lives in src/tradeops/resources/__init__.py (SOURCES); the repository files are the only
source of truth, the wheel gets a copy at build time.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


def _resources_module() -> ModuleType:
    path = HERE / "src" / "tradeops" / "resources" / "__init__.py"
    spec = importlib.util.spec_from_file_location("_tradeops_resources", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildWithProjectFiles(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the files from the checkout itself
        resources = _resources_module()
        missing = [entry for entry in resources.SOURCES if not (HERE / entry).exists()]
        if missing:
            raise SystemExit(f"cannot build tradeops: missing project files {', '.join(missing)}")
        target = Path(self.build_lib) / "tradeops" / "resources" / resources.PACKAGED_DIR
        shutil.rmtree(target, ignore_errors=True)
        for rel in resources.source_files(HERE):
            destination = target / rel
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(HERE / rel, destination)


setup(cmdclass={"build_py": BuildWithProjectFiles})
