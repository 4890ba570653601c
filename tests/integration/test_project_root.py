"""The project root is found, not assumed: run from `scripts/` or from outside the project with
TRADEOPS_CONFIG, the tools use the project's one decision log and overrides directory."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from tests.integration.live import REPO, TRADEOPS, entries, run, signing_env


def test_scripts_from_scripts_dir_and_from_outside_use_the_one_project_log(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(REPO / "config", root / "config")
    shutil.copytree(REPO / "scripts", root / "scripts", ignore=shutil.ignore_patterns("__pycache__"))
    env = signing_env(tmp_path)
    env.pop("TRADEOPS_CONFIG", None)

    disabled = run(
        [sys.executable, "disable_multi_strategy.py", "--reason", "drill", "--ticket", "INC-7",
         "--requested-by", "l2-ops"],
        root / "scripts",
        env,
    )  # fmt: skip
    assert disabled.returncode == 0, disabled.stderr
    assert f"project root: {root}" in disabled.stderr
    assert (root / "var/runtime/overrides/multi_strategy_disable.json").is_file()

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    cleared = run(
        [str(TRADEOPS), "kill-switch", "clear", "--reason", "drill over"],
        outside,
        {**env, "TRADEOPS_CONFIG": str(root / "config" / "core.yaml")},
    )
    assert cleared.returncode == 0, cleared.stderr
    assert not (root / "var/runtime/overrides/multi_strategy_disable.json").exists()

    logs = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.jsonl"))
    assert logs == [Path("repo/audit/decision_logs/stage4.jsonl")]  # one log, no second genesis
    statuses = [(e["kind"], e["status"]) for e in entries(root / "audit/decision_logs/stage4.jsonl")]
    assert statuses == [("override", "disabled"), ("override", "enabled")]
    assert not (root / "scripts" / "audit").exists() and not (outside / "var").exists()

    verified = run(
        [sys.executable, "scripts/verify_decision_log.py", "--strict", "audit/decision_logs/stage4.jsonl"],
        root,
        env,
    )
    assert verified.returncode == 0 and verified.stdout.startswith("OK:"), verified.stdout + verified.stderr
