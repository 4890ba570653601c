"""Kept for tests and benchmarks that write override files directly: the writer is an adapter and
lives in `tradeops.bootstrap.override_files` (ops use cases reach it through `OverrideStore`)."""

from tradeops.bootstrap.override_files import remove_override_file, symlink_component, write_override

__all__ = ["remove_override_file", "symlink_component", "write_override"]
