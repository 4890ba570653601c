"""The benchmarks behind `tradeops bench <name> --json` (speed is measured here, never asserted in tests)."""
