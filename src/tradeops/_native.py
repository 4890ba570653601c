"""The compiled hot path (issue 17): which modules mypyc compiles, and whether this process runs them.

`make native` (scripts/dev/build_native.py) compiles NATIVE_MODULES in place, beside their sources,
and writes MANIFEST: the sha256 of every source it compiled. The extension modules are used only
while every source still matches the manifest. An edited source, a missing or unreadable manifest,
a missing extension or TRADEOPS_NATIVE=0 make every listed module load from its .py. It is all or
none: compiled modules call each other natively and check each other's types, so a mix is not safe.
The sources are the same either way; tests/integration/test_native_build.py asserts that both give
byte-identical decision logs.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import NamedTuple

ENV = "TRADEOPS_NATIVE"  # "0": run the pure-Python sources even when a fresh build is present
GROUP = "tradeops._native_group"  # mypyc's shared library: tradeops/_native_group__mypyc.*.so
PACKAGE_DIR = Path(__file__).resolve().parent
MANIFEST = PACKAGE_DIR / "_native_manifest.json"

# The scheduler step, the engine and the books, the market view, the risk gate, the strategies, and
# the decision log's encode/append/verify path with the journal and projection (issue 17; measured
# there). decision_log.sink stays interpreted: its writer is duck-typed (tests pass capturing fakes).
NATIVE_MODULES: tuple[str, ...] = (
    "tradeops.allocation.planning",
    "tradeops.decision_log.canonical",
    "tradeops.decision_log.chain",
    "tradeops.decision_log.check",
    "tradeops.decision_log.entry",
    "tradeops.decision_log.keys",
    "tradeops.decision_log.reader",
    "tradeops.decision_log.verify",
    "tradeops.decision_log.writer",
    "tradeops.domain.events",
    "tradeops.domain.money",
    "tradeops.domain.trading",
    "tradeops.exchanges.paper.exchange",
    "tradeops.marketdata.series_store",
    "tradeops.marketdata.store_view",
    "tradeops.marketdata.stored_series",
    "tradeops.marketdata.timeline",
    "tradeops.persistence.batch_sql",
    "tradeops.persistence.journal",
    "tradeops.persistence.projection",
    "tradeops.risk.gate",
    "tradeops.risk.monitors",
    "tradeops.runtime.clock",
    "tradeops.runtime.egress",
    "tradeops.runtime.engine",
    "tradeops.runtime.heartbeat",
    "tradeops.runtime.holdings",
    "tradeops.runtime.kill_reaction",
    "tradeops.runtime.portfolio",
    "tradeops.runtime.repeat_denials",
    "tradeops.runtime.scheduler",
    "tradeops.runtime.stats",
    "tradeops.runtime.stats_projection",
    "tradeops.runtime.trading_state",
    "tradeops.strategies.base",
    "tradeops.strategies.cross_exchange",
    "tradeops.strategies.daily_trend",
    "tradeops.strategies.mean_reversion",
    "tradeops.strategies.volatility_target",
)


class NativeStatus(NamedTuple):  # not a dataclass: `import tradeops` stays light for every command
    compiled: bool
    reason: str  # why not, when not compiled; "" when compiled

    def describe(self) -> str:
        if self.compiled:
            return f"compiled ({len(NATIVE_MODULES)} modules, mypyc)"
        return f"pure Python ({self.reason})"


def source_path(module: str) -> Path:
    return PACKAGE_DIR.joinpath(*module.split(".")[1:]).with_suffix(".py")


def extension_path(module: str) -> Path:
    return source_path(module).with_suffix(importlib.machinery.EXTENSION_SUFFIXES[0])


def shared_library_path() -> Path:
    """mypyc's library that every compiled module's extension loads (the code itself)."""
    return PACKAGE_DIR / f"{GROUP.rsplit('.', 1)[1]}__mypyc{importlib.machinery.EXTENSION_SUFFIXES[0]}"


def source_digest(module: str) -> str:
    return hashlib.sha256(source_path(module).read_bytes()).hexdigest()


def manifest_of(modules: Sequence[str] = NATIVE_MODULES) -> dict[str, object]:
    """What a build of `modules` from the current sources records (and `decide` compares)."""
    return {
        "python": sys.implementation.cache_tag,
        "extension_suffix": importlib.machinery.EXTENSION_SUFFIXES[0],
        "sources": {module: source_digest(module) for module in modules},
    }


def decide(environ: Mapping[str, str] = os.environ, manifest: Path = MANIFEST) -> NativeStatus:
    """Whether the compiled modules may be used in this process, and if not, why not."""
    if environ.get(ENV, "") == "0":
        return NativeStatus(False, f"{ENV}=0")
    try:
        recorded = json.loads(manifest.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return NativeStatus(False, "not built: `make native` compiles the hot path")
    except (OSError, ValueError) as exc:
        return NativeStatus(False, f"{manifest.name} unreadable ({exc}): `make native` rebuilds it")
    try:
        current = manifest_of()
    except OSError as exc:
        return NativeStatus(False, f"a compiled module's source is unreadable ({exc})")
    if recorded != current:
        return NativeStatus(
            False, f"the build is stale: {_first_difference(recorded, current)}; `make native`"
        )
    needed = [shared_library_path(), *(extension_path(m) for m in NATIVE_MODULES)]
    missing = next((path for path in needed if not path.is_file()), None)
    if missing is not None:
        return NativeStatus(False, f"{missing.name} missing: `make native` rebuilds it")
    return NativeStatus(True, "")


def _first_difference(recorded: object, current: dict[str, object]) -> str:
    if not isinstance(recorded, dict):
        return "the manifest is not an object"
    for key in ("python", "extension_suffix"):
        if recorded.get(key) != current[key]:
            return f"built for {recorded.get(key)!r}, this is {current[key]!r}"
    sources = recorded.get("sources")
    wanted = current["sources"]
    assert isinstance(wanted, dict)
    if not isinstance(sources, dict) or set(sources) != set(wanted):
        return "the list of compiled modules changed"
    changed = next((m for m in wanted if sources[m] != wanted[m]), None)
    if changed is None:  # the sources match; some other field differs (another build script's manifest)
        return "the manifest is not this build's"
    return f"{source_path(changed).relative_to(PACKAGE_DIR.parent)} changed since it was compiled"


class _SourcesFirst:
    """A meta-path finder that loads every compiled module from its .py, ahead of the extension
    beside it (duck-typed: importlib.abc would import importlib.resources on every start-up)."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in _NATIVE_SET:
            return None
        return importlib.util.spec_from_file_location(fullname, source_path(fullname))


_NATIVE_SET = frozenset(NATIVE_MODULES)
_status: NativeStatus | None = None


def install() -> NativeStatus:
    """Decide once per process; when the build may not be used, load the sources instead."""
    global _status
    if _status is None:
        _status = decide()
        if not _status.compiled and any(extension_path(m).is_file() for m in NATIVE_MODULES):
            sys.meta_path.insert(0, _SourcesFirst())
            if _status.reason.startswith("the build is stale"):
                print(f"tradeops: running pure Python, {_status.reason}", file=sys.stderr)
    return _status


def status() -> NativeStatus:
    return install()
