"""The compiled hot path (`make native`, src/tradeops/_native.py): a build is used only while it
matches the sources, all of it or none of it, and it decides exactly as the sources do."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_SERVICES
from tradeops import _native

REPO = Path(__file__).resolve().parents[2]
# The build's status, then the file each listed module was loaded from, one per line.
PROBE = (
    "import importlib, tradeops._native as n; print(n.status().describe());"
    " [print(importlib.import_module(m).__file__) for m in n.NATIVE_MODULES]"
)
ENGINE = _native.NATIVE_MODULES.index("tradeops.runtime.engine") + 1  # its line in the probe's output


def _probe(env: dict[str, str], pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **env}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60, check=True
    )


def _require_build() -> None:
    """A check of the compiled modules themselves needs the build: CI always has it (make unit)."""
    state = _native.decide()
    if state.compiled:
        return
    if REQUIRE_SERVICES or os.environ.get("CI"):
        pytest.fail(f"the hot path is not compiled in CI: {state.reason}")
    pytest.skip(f"the hot path is not compiled here ({state.reason}); `make native`")


def _copy_package(tmp_path: Path) -> Path:
    """A copy of src/tradeops (the build included) under tmp_path/src; that src is returned."""
    src = tmp_path / "src"
    shutil.copytree(REPO / "src" / "tradeops", src / "tradeops", ignore=shutil.ignore_patterns("__pycache__"))
    return src


def _write(path: Path, manifest: dict[str, object]) -> Path:
    path.write_text(json.dumps(manifest), encoding="utf-8")
    return path


def test_the_environment_forces_pure_python_whatever_is_built() -> None:
    state = _native.decide({_native.ENV: "0"})
    assert not state.compiled and state.describe() == "pure Python (TRADEOPS_NATIVE=0)"
    out = _probe({_native.ENV: "0"}).stdout.splitlines()
    assert out[0] == "pure Python (TRADEOPS_NATIVE=0)"
    assert out[ENGINE].endswith("/tradeops/runtime/engine.py")
    assert all(f.endswith(".py") for f in out[1:])


def test_no_or_an_unreadable_manifest_is_not_a_build(tmp_path: Path) -> None:
    absent = _native.decide({}, tmp_path / "absent.json")
    assert not absent.compiled and "not built" in absent.reason and "make native" in absent.reason
    garbled = tmp_path / "garbled.json"
    garbled.write_text("{not json", encoding="utf-8")
    state = _native.decide({}, garbled)
    assert not state.compiled and "garbled.json unreadable" in state.reason


def test_a_changed_source_makes_the_build_stale_and_names_the_file(tmp_path: Path) -> None:
    manifest = _native.manifest_of()
    sources = dict(manifest["sources"])  # type: ignore[call-overload]
    sources["tradeops.runtime.portfolio"] = "0" * 64
    state = _native.decide({}, _write(tmp_path / "m.json", {**manifest, "sources": sources}))
    assert not state.compiled
    assert state.reason == (
        "the build is stale: tradeops/runtime/portfolio.py changed since it was compiled; `make native`"
    )


def test_another_interpreter_or_module_list_is_stale(tmp_path: Path) -> None:
    manifest = _native.manifest_of()
    other = _native.decide({}, _write(tmp_path / "a.json", {**manifest, "python": "cpython-399"}))
    assert not other.compiled and "built for 'cpython-399'" in other.reason
    sources = dict(manifest["sources"])  # type: ignore[call-overload]
    sources.pop("tradeops.runtime.engine")
    fewer = _native.decide({}, _write(tmp_path / "b.json", {**manifest, "sources": sources}))
    assert not fewer.compiled and "list of compiled modules changed" in fewer.reason
    foreign = _native.decide({}, _write(tmp_path / "c.json", {**manifest, "built_by": "another script"}))
    assert not foreign.compiled and "the manifest is not this build's" in foreign.reason


def test_a_matching_manifest_is_a_build_only_with_every_extension(tmp_path: Path) -> None:
    state = _native.decide({}, _write(tmp_path / "m.json", _native.manifest_of()))
    every = all(_native.extension_path(m).is_file() for m in _native.NATIVE_MODULES)
    assert state.compiled is every
    if not every:
        assert "missing: `make native` rebuilds it" in state.reason


def test_the_checkout_runs_its_compiled_build() -> None:
    _require_build()
    out = _probe({}).stdout.splitlines()
    assert out[0] == f"compiled ({len(_native.NATIVE_MODULES)} modules, mypyc)"
    assert out[ENGINE].endswith(_native.extension_path("tradeops.runtime.engine").name)
    assert all(f.endswith(_native.extension_path("tradeops.runtime.engine").suffix) for f in out[1:])


def test_a_stale_build_loads_every_source_and_says_why(tmp_path: Path) -> None:
    """A copy of the package with one compiled source edited: nothing compiled is loaded."""
    _require_build()
    copy = _copy_package(tmp_path)
    clock = copy / "tradeops" / "runtime" / "clock.py"
    clock.write_text(clock.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    done = _probe({}, pythonpath=copy)
    reason = "the build is stale: tradeops/runtime/clock.py changed since it was compiled; `make native`"
    out = done.stdout.splitlines()
    assert out[0] == f"pure Python ({reason})" and out[ENGINE] == str(copy / "tradeops/runtime/engine.py")
    assert done.stderr == f"tradeops: running pure Python, {reason}\n"
    assert len(out) == len(_native.NATIVE_MODULES) + 1 and all(f.endswith(".py") for f in out[1:])


def test_a_build_without_its_shared_library_loads_the_sources(tmp_path: Path) -> None:
    """The modules' extensions are only shims: without mypyc's library they could not import."""
    _require_build()
    copy = _copy_package(tmp_path)
    library = copy / "tradeops" / _native.shared_library_path().name
    library.unlink()
    out = _probe({}, pythonpath=copy).stdout.splitlines()
    assert out[0] == f"pure Python ({library.name} missing: `make native` rebuilds it)"
    assert all(f.endswith(".py") for f in out[1:])


def test_pure_python_gives_the_golden_decision_log_too() -> None:
    """tests/unit/test_engine_golden_log.py runs in whichever mode the suite runs (compiled under
    `make unit`); here the same test runs on the sources, so both modes are held to one log."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/unit/test_engine_golden_log.py",
        ],
        cwd=REPO,
        env={**os.environ, _native.ENV: "0"},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    assert "1 passed" in done.stdout


def test_a_failed_build_leaves_pure_python_and_says_so(tmp_path: Path) -> None:
    """`make demo` builds with --best-effort: without a working compiler it goes on in pure Python.
    Run on a copy of the checkout (the real build is never touched), with a compiler that fails."""
    _copy_package(tmp_path)
    (tmp_path / "scripts" / "dev").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "dev" / "build_native.py", tmp_path / "scripts" / "dev")
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    env = {**os.environ, "CC": "false", "PYTHONPATH": str(tmp_path / "src")}
    env.pop(_native.ENV, None)
    done = subprocess.run(
        [sys.executable, "scripts/dev/build_native.py", "--force", "--best-effort"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.rstrip().endswith(
        "native: the build failed; tradeops runs pure Python (the lines above say why)"
    )
    assert not list((tmp_path / "src" / "tradeops").rglob("*.so"))
    assert not (tmp_path / "src" / "tradeops" / _native.MANIFEST.name).exists()
    probe = _probe({}, pythonpath=tmp_path / "src").stdout.splitlines()
    assert probe[0] == "pure Python (not built: `make native` compiles the hot path)"
    assert probe[ENGINE] == str(tmp_path / "src" / "tradeops" / "runtime" / "engine.py")
