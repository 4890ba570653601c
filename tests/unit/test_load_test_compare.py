"""Comparing two load-test reports: deltas, regressions beyond a threshold, HTML with charts."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tradeops.domain.errors import UserInputError
from tradeops.ops.loadtest.compare import compare_reports
from tradeops.ops.loadtest.html import render_html, write_html


def report(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schedules": 3,
        "iterations": 10,
        "signals_emitted": 4,
        "orders": 3,
        "fills": 3,
        "latency_ms": {"p50": 2.0, "p95": 4.0, "p99": 5.0, "max": 6.0, "avg": 2.5},
        "drift_ms": {"p95": 3.0, "max": 5.0},
        "jitter_ms": 4.0,
        "resource_usage": {
            "cpu_percent": {"peak": 30.0, "mean": 10.0},
            "memory_mb": {"peak": 200.0, "mean": 190.0},
            "io_read_mb_s": {"peak": 0.0, "mean": 0.0},
            "io_write_mb_s": {"peak": 1.0, "mean": 0.1},
            "timeline": {
                "t_s": [0.1, 0.2, 0.3],
                "cpu_percent": [5.0, 20.0, 9.0],
                "memory_mb": [190.0, 200, 199],
            },
        },
        "resource_limits": {
            "cpu_percent": 65.0,
            "memory_mb": 2048.0,
            "io_read_mb_s": 120.0,
            "io_write_mb_s": 80.0,
        },
        "resource_status": "ok",
        "disabled_schedules": [],
    }
    for path, value in changes.items():
        node = doc
        *parents, leaf = path.split("__")
        for part in parents:
            node = node[part]
        node[leaf] = value
    return doc


def write(tmp_path: Path, name: str, doc: dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def test_identical_reports_have_no_regression(tmp_path: Path) -> None:
    result = compare_reports(write(tmp_path, "a.json", report()), write(tmp_path, "b.json", report()))
    assert result.regressions == []
    assert all(row.delta in (0, None) for row in result.rows)


def test_worse_latency_beyond_threshold_is_flagged(tmp_path: Path) -> None:
    pre = write(tmp_path, "pre.json", report())
    post = write(tmp_path, "post.json", report(latency_ms__p95=6.0, resource_usage__cpu_percent__mean=20.0))
    result = compare_reports(pre, post, threshold=0.2)
    assert result.regressions == ["latency_ms.p95", "resource_usage.cpu_percent.mean"]
    row = next(r for r in result.rows if r.metric.key == "latency_ms.p95")
    assert (row.pre, row.post, row.delta) == (4.0, 6.0, 2.0)
    assert row.delta_ratio == pytest.approx(0.5)
    assert compare_reports(pre, post, threshold=1.5).regressions == []


def test_small_absolute_changes_are_noise(tmp_path: Path) -> None:
    pre = write(tmp_path, "pre.json", report(latency_ms__p50=0.1))
    post = write(tmp_path, "post.json", report(latency_ms__p50=0.3))  # +200 % but only 0.2 ms
    assert compare_reports(pre, post).regressions == []


def test_improvements_and_informational_fields_are_not_regressions(tmp_path: Path) -> None:
    pre = write(tmp_path, "pre.json", report())
    post = write(tmp_path, "post.json", report(schedules=2, signals_emitted=40, latency_ms__max=1.0))
    assert compare_reports(pre, post).regressions == []


def test_status_getting_worse_is_a_regression(tmp_path: Path) -> None:
    pre = write(tmp_path, "pre.json", report())
    post = write(tmp_path, "post.json", report(resource_status="warning"))
    assert compare_reports(pre, post).regressions == ["resource_status"]


def test_origin_format_report_compares_on_its_fields(tmp_path: Path) -> None:
    origin = {
        "schedules": 3,
        "iterations": 10,
        "avg_latency_ms": 1.42,
        "max_latency_ms": 1.82,
        "jitter_ms": 0.55,
        "signals_emitted": 120,
        "resource_status": "ok",
    }
    result = compare_reports(write(tmp_path, "origin.json", origin), write(tmp_path, "new.json", report()))
    rows = {r.metric.key: r for r in result.rows}
    assert rows["latency_ms.max"].pre == 1.82 and rows["latency_ms.avg"].pre == 1.42
    assert rows["latency_ms.p95"].pre is None and not rows["latency_ms.p95"].regression
    assert "latency_ms.max" in result.regressions  # 1.82 -> 6.0 ms


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no such report"), ("{not json", "not a readable JSON"), ('{"a": 1}', "not a load-test report")],
)
def test_bad_report_files_are_user_errors(tmp_path: Path, content: str | None, message: str) -> None:
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    with pytest.raises(UserInputError, match=message):
        compare_reports(bad, write(tmp_path, "ok.json", report()))


def test_html_page_is_self_contained_with_charts(tmp_path: Path) -> None:
    post_doc = copy.deepcopy(report(latency_ms__p95=9.0, disabled_schedules=["cross_exchange"]))
    result = compare_reports(write(tmp_path, "pre.json", report()), write(tmp_path, "post.json", post_doc))
    page = write_html(result, tmp_path / "out" / "compare.html").read_text()
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert page.count("<svg") >= 4  # latency, drift, cpu, memory (+ timelines)
    assert "<polyline" in page  # CPU timeline from the reports' samples
    assert "limit 65" in page
    assert "REGRESSION" in page and "cross_exchange" in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")  # nothing fetched
    assert "<script" not in page


def test_html_escapes_report_paths(tmp_path: Path) -> None:
    pre = write(tmp_path, "<pre>.json", report())
    result = compare_reports(pre, write(tmp_path, "post.json", report()))
    assert "<pre>.json" not in render_html(result)


def test_cli_exit_code_only_fails_on_regression_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tradeops.cli.main import main

    pre = str(write(tmp_path, "pre.json", report()))
    post = str(write(tmp_path, "post.json", report(drift_ms__max=50.0)))
    assert main(["load-test", "compare", pre, post]) == 0
    assert "REGRESSION" in capsys.readouterr().out
    assert main(["load-test", "compare", pre, post, "--fail-on-regression"]) == 1
    capsys.readouterr()
    assert main(["load-test", "compare", pre, pre, "--fail-on-regression", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["regressions"] == []
    assert main(["load-test", "compare", pre, str(tmp_path / "missing.json")]) == 2
