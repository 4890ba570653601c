#!/usr/bin/env python3
"""Runbook shim: `python scripts/verify_decision_log.py ...` runs `tradeops decision-log script ...`."""

import _shim

_shim.run(["decision-log", "script"], "verify_decision_log")
