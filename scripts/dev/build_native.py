"""Compile the hot path with mypyc, in place beside the sources (`make native`; issue 17).

    .venv/bin/python scripts/dev/build_native.py          # a no-op when the build matches the sources
    .venv/bin/python scripts/dev/build_native.py --clean  # remove the extensions: pure Python

The module list and the rule for using a build are in src/tradeops/_native.py. A build removes the
old extensions and the manifest first and writes the manifest last, so a failed or interrupted
build leaves pure Python, never a mix of old and new extensions.
"""

from __future__ import annotations

import argparse
import importlib.machinery
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tradeops import _native

ROOT = Path(__file__).resolve().parents[2]
SETUP = """
import sys
from mypyc.build import mypycify
from setuptools import setup
paths, group, temp = sys.argv[1].split(","), sys.argv[2], sys.argv[3]
setup(
    name="tradeops-native",
    package_dir={"": "src"},
    ext_modules=mypycify(paths, group_name=group, opt_level="3", target_dir=temp),
    script_args=["-q", "build_ext", "--inplace", "--parallel", "2", "--build-temp", temp],
)
"""


def _remove_build() -> None:
    _native.MANIFEST.unlink(missing_ok=True)
    # Every extension in the package is a build's (the shared library too), also those of modules
    # since taken off the list.
    for extension in _native.PACKAGE_DIR.rglob(f"*{importlib.machinery.EXTENSION_SUFFIXES[0]}"):
        extension.unlink()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean", action="store_true", help="remove the compiled modules")
    parser.add_argument("--force", action="store_true", help="rebuild even when up to date")
    parser.add_argument(
        "--best-effort", action="store_true", help="exit 0 when the build fails (pure Python works)"
    )
    args = parser.parse_args()
    if args.clean:
        _remove_build()
        print("native: removed; tradeops runs pure Python")
        return 0
    state = _native.decide({})
    if state.compiled and not args.force:
        print(f"native: up to date, {state.describe()}")
        return 0
    _remove_build()
    paths = [str(_native.source_path(m).relative_to(ROOT)) for m in _native.NATIVE_MODULES]
    started = time.monotonic()
    print(f"native: compiling {len(paths)} modules with mypyc (about 1.5 minutes on 2 cores)", flush=True)
    with tempfile.TemporaryDirectory(prefix="tradeops-native-") as temp:
        env = {**os.environ, _native.ENV: "0"}  # mypyc imports nothing of ours, but be sure
        done = subprocess.run(
            [sys.executable, "-c", SETUP, ",".join(paths), _native.GROUP, temp],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
    if done.returncode != 0:
        _remove_build()
        tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
        print("\n".join(tail), file=sys.stderr)
        print(
            "native: the build failed; tradeops runs pure Python (the lines above say why)", file=sys.stderr
        )
        return 0 if args.best_effort else 1
    manifest = _native.manifest_of()
    _native.MANIFEST.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    state = _native.decide({})
    print(f"native: {state.describe()} in {time.monotonic() - started:.0f} s")
    return 0 if state.compiled else 1


if __name__ == "__main__":
    sys.exit(main())
