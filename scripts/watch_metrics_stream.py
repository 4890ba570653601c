#!/usr/bin/env python3
"""Runbook shim: `python scripts/watch_metrics_stream.py ...` runs `tradeops metrics watch ...`."""

import _shim

_shim.run(["metrics", "watch"], "watch_metrics_stream")
