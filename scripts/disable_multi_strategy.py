#!/usr/bin/env python3
"""Runbook shim: `python scripts/disable_multi_strategy.py ...` runs `tradeops kill-switch disable ...`."""

import _shim

_shim.run(["kill-switch", "disable"], "disable_multi_strategy")
