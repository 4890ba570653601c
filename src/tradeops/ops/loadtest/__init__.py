"""Scheduler load test against the real resource budgets (`tradeops load-test`)."""

from tradeops.ops.loadtest.compare import Comparison, compare_reports, load_report
from tradeops.ops.loadtest.derive import derive_config
from tradeops.ops.loadtest.report import LoadTestReport
from tradeops.ops.loadtest.runner import DEFAULT_TICK_MS, LATEST_REPORT, run_load_test, save_report

__all__ = [
    "DEFAULT_TICK_MS",
    "LATEST_REPORT",
    "Comparison",
    "LoadTestReport",
    "compare_reports",
    "derive_config",
    "load_report",
    "run_load_test",
    "save_report",
]
