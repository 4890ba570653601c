"""Composition root: the only place that picks concrete adapters."""
