#!/usr/bin/env python3
"""Runbook shim: `python scripts/load_test_scheduler.py ...` runs `tradeops load-test run ...`."""

import _shim

_shim.run(["load-test", "run"], "load_test_scheduler")
