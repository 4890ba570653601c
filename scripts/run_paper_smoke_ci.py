#!/usr/bin/env python3
"""Runbook shim: `python scripts/run_paper_smoke_ci.py ...` runs `tradeops smoke paper-ci ...`."""

import _shim

_shim.run(["smoke", "paper-ci"], "run_paper_smoke_ci")
