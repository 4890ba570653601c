#!/usr/bin/env python3
"""Runbook shim: `python scripts/smoke_demo_strategies.py ...` runs `tradeops smoke demo ...`."""

import _shim

_shim.run(["smoke", "demo"], "smoke_demo_strategies")
