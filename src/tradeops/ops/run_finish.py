"""At the end of a demo or backtest: the run summary, curves, charts and page where they belong.

The run directory (`var/runs/<run_id>/` of a backtest) always gets them; `--report-dir` (the demo's
`reports/demo/` by default) gets the same files as copies. An account run has no run directory: it
writes only to `--report-dir` when one is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tradeops.bootstrap.engine import Runtime
from tradeops.fsutil import atomic_write_bytes
from tradeops.ops.run_recorder import RunRecorder
from tradeops.ops.run_reports import HTML_FILE, Progress, write_report_files
from tradeops.ops.run_summary import build_summary, write_summary


@dataclass(frozen=True, slots=True)
class FinishRun:
    report_dir: Path | None = None


@dataclass(frozen=True, slots=True)
class FinishedRunView:
    run_id: str
    written: tuple[tuple[str, Path], ...]
    warnings: tuple[str, ...]


def finish_run(
    runtime: Runtime, recorder: RunRecorder, command: FinishRun, progress: Progress | None = None
) -> FinishedRunView:
    targets = [
        d for d in (runtime.plan.directory if runtime.plan else None, command.report_dir) if d is not None
    ]
    if not targets:
        return FinishedRunView(runtime.run_id, (), ())
    summary = build_summary(runtime, recorder)
    curves = recorder.curves()
    primary, *copies = targets
    written = list(write_summary(primary, summary, curves).items())
    if recorder.times:
        written += write_report_files(summary, curves, primary, primary / HTML_FILE, progress)
    for directory in copies:
        for kind, path in list(written):
            if path.parent == primary:
                written.append((kind, atomic_write_bytes(directory / path.name, path.read_bytes())))
    return FinishedRunView(runtime.run_id, tuple(written), tuple(summary["warnings"]))
