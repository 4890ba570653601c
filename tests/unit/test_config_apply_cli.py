"""`tradeops config apply` without a running scheduler: bad input and --from-git of a bad commit."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tradeops.cli.main import main
from tradeops.decision_log.reader import iter_entries

REPO = Path(__file__).resolve().parents[2]
CONFIG = Path("config/core.yaml")


def _git(*args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x.invalid", "GIT_COMMITTER_NAME": "t"}
    env |= {"GIT_COMMITTER_EMAIL": "t@x.invalid", "PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True, env=env).stdout.strip()


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir()
    shutil.copy(REPO / "config" / "core.yaml", tmp_path / CONFIG)
    monkeypatch.setenv("TRADEOPS_DECISION_LOG_KEY", "apply-secret-0123456789abcdef0123")
    for name in ("TRADEOPS_DECISION_LOG_KEY_FILE", "TRADEOPS_DECISION_LOG_KEY_ID", "TRADEOPS_CONFIG"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    _git("init", "-q", "-b", "main")
    _git("add", "config")
    _git("commit", "-q", "-m", "good")
    return tmp_path


def test_offline_apply_records_the_commit_and_applies_at_next_start(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["config", "apply", "--reason", "review", "--ticket", "T-1"]) == 0
    assert "applies at the next start" in capsys.readouterr().out
    [entry] = [e for _, e in iter_entries("audit/decision_logs/stage4.jsonl") if e["kind"] == "config_change"]
    assert entry["status"] == "recorded" and entry["artefacts"]["git_commit"] == _git("rev-parse", "HEAD")
    assert entry["metadata"]["git_dirty"] is False and entry["artefacts"]["config_sha384"].startswith(
        "sha384:"
    )


def test_blank_reason_is_one_line_and_nothing_recorded(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "apply"]) == 2
    err = capsys.readouterr().err
    assert "reason (--reason) must not be blank" in err and err.count("\n") == 1
    assert not Path("audit/decision_logs/stage4.jsonl").exists()


def test_from_git_of_an_invalid_commit_prints_every_problem_and_leaves_the_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    good = CONFIG.read_text()
    CONFIG.write_text(good.replace("max_open_positions: 8", "max_open_positions: -1", 1) + "bogus: 1\n")
    _git("commit", "-qam", "bad")
    bad = _git("rev-parse", "HEAD")
    CONFIG.write_text(good)
    assert main(["config", "apply", "--from-git", bad, "--reason", "r"]) == 1
    err = capsys.readouterr().err
    assert len([line for line in err.splitlines() if line.startswith(f"{bad}:config/core.yaml:")]) >= 2
    assert CONFIG.read_text() == good
    assert main(["config", "apply", "--from-git", "no-such-ref", "--reason", "r"]) == 2
    assert "cannot read config/core.yaml" in capsys.readouterr().err
