#!/usr/bin/env python3
"""Runbook shim: `python scripts/run_multi_strategy_scheduler.py ...` runs `tradeops run ...`."""

import _shim

_shim.run(["run"], "run_multi_strategy_scheduler")
