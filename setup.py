"""Build hook: copy the project files (config, deploy/, runbooks, tools) into the wheel as package data,
and the vendored Swagger UI / ReDoc assets (tools/node_modules) for the control API's /docs.

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


def _resources_module(path: Path = HERE / "src" / "tradeops" / "resources" / "__init__.py") -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_tradeops_{path.stem}", path)
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
        self._copy_vendor_assets()

    def _copy_vendor_assets(self) -> None:
        """Swagger UI and ReDoc (from tools/node_modules, `npm ci --prefix tools`) for /docs and /redoc."""
        vendor = _resources_module(HERE / "src" / "tradeops" / "control_api" / "vendor_assets.py")
        modules = HERE / "tools" / "node_modules"
        missing = [rel for rel in vendor.VENDOR_FILES.values() if not (modules / rel).is_file()]
        if missing:
            raise SystemExit(
                f"cannot build tradeops: run `npm ci --prefix tools` (missing {', '.join(missing)})"
            )
        target = Path(self.build_lib) / "tradeops" / "control_api" / vendor.PACKAGED_DIR
        target.mkdir(parents=True, exist_ok=True)
        for name, rel in vendor.VENDOR_FILES.items():
            shutil.copyfile(modules / rel, target / name)


setup(cmdclass={"build_py": BuildWithProjectFiles})
