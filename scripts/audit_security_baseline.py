#!/usr/bin/env python3
"""Runbook shim: `python scripts/audit_security_baseline.py ...` runs `tradeops security audit ...`."""

import _shim

_shim.run(["security", "audit"], "audit_security_baseline")
