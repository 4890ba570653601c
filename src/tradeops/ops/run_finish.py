"""At the end of a demo or backtest: the run summary and curves where they belong (cheap: no
chart is drawn here; `tradeops report run` draws the charts and the page on demand).

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
from tradeops.ops.run_summary import build_summary, write_summary


@dataclass(frozen=True, slots=True)
class FinishRun:
    report_dir: Path | None = None


@dataclass(frozen=True, slots=True)
class FinishedRunView:
    run_id: str
    written: tuple[tuple[str, Path], ...]
    warnings: tuple[str, ...]
    charts_command: str | None = None  # how to draw the charts and the page of this run

    def lines(self) -> list[str]:
        directories: dict[Path, list[str]] = {}
        for _, path in self.written:
            directories.setdefault(path.parent, []).append(path.name)
        out = [f"run report: {directory}/ ({', '.join(names)})" for directory, names in directories.items()]
        if self.charts_command is not None:
            out.append(f"charts and page (equity, per strategy, report.html): {self.charts_command}")
        return out


def finish_run(runtime: Runtime, recorder: RunRecorder, command: FinishRun) -> FinishedRunView:
    run_dir = runtime.plan.directory if runtime.plan else None
    targets = [d for d in (run_dir, command.report_dir) if d is not None]
    if not targets:
        return FinishedRunView(runtime.run_id, (), ())
    summary = build_summary(runtime, recorder)
    primary, *copies = targets
    written = list(write_summary(primary, summary, recorder.curves()).items())
    for directory in copies:
        for kind, path in list(written):
            if path.parent == primary:
                written.append((kind, atomic_write_bytes(directory / path.name, path.read_bytes())))
    charts = None
    if recorder.times:
        charts = f"tradeops report run {runtime.run_id if run_dir is not None else primary}"
    return FinishedRunView(runtime.run_id, tuple(written), tuple(summary["warnings"]), charts)
