"""Composition root: the only place that picks concrete adapters.

Re-exports are lazy so `tradeops kill-switch status` does not import the engine's dependencies.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "OpsContext": "tradeops.bootstrap.ops",
    "build_ops_context": "tradeops.bootstrap.ops",
    "RunOptions": "tradeops.bootstrap.engine",
    "Runtime": "tradeops.bootstrap.engine",
    "build_runtime": "tradeops.bootstrap.engine",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tradeops.bootstrap' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
