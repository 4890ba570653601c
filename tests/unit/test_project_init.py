"""`tradeops init [DIR] [--force]`: a ready project directory, never overwriting without --force."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tradeops.cli.main import main
from tradeops.ops.project_init import RUNTIME_DIRS
from tradeops.resources import DERIVED, source_files

REPO = Path(__file__).resolve().parents[2]


def _tree(root: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))
    }


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_writes_config_deploy_runbooks_and_runtime_dirs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "new" / "project"  # missing parents are created
    assert main(["init", str(target)]) == 0
    out = capsys.readouterr().out
    assert f"initialized {target}" in out and f"next: cd {target} && tradeops demo" in out
    shipped = list(source_files(REPO))
    assert "config/core.yaml" in shipped and "deploy/prometheus/rules/multi_strategy_rules.yml" in shipped
    for rel in shipped:
        assert (target / rel).read_bytes() == (REPO / rel).read_bytes(), rel
        assert _mode(target / rel) == 0o644
    for copy, original in DERIVED.items():
        assert (target / copy).read_bytes() == (REPO / original).read_bytes()
    assert "tradeops demo" in (target / "README.md").read_text()
    for rel, mode in RUNTIME_DIRS.items():
        assert (target / rel).is_dir() and _mode(target / rel) == mode, rel
        assert not any(p.is_file() for p in (target / rel).rglob("*"))
    assert _mode(target / "var") == 0o700  # keys and state: owner only


def test_init_in_the_current_directory_is_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    assert (tmp_path / "config" / "core.yaml").is_file()
    assert "next: tradeops demo && tradeops alerts validate" in capsys.readouterr().out
    # The written config is the one every command finds by default there.
    assert main(["config", "validate"]) == 0


def test_init_refuses_to_overwrite_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = tmp_path / "deploy" / "alertmanager" / "alertmanager.yml"
    existing.parent.mkdir(parents=True)
    existing.write_text("route: {receiver: mine}\n")
    (tmp_path / "notes.txt").write_text("keep\n")
    before = _tree(tmp_path)
    assert main(["init", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"error: {existing} exists: pass --force to overwrite (nothing written)\n"
    assert _tree(tmp_path) == before


def test_init_names_the_first_existing_file_in_write_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "core.yaml").write_text("x: 1\n")
    (tmp_path / "README.md").write_text("mine\n")
    assert main(["init", str(tmp_path)]) == 2
    assert str(tmp_path / "config" / "core.yaml") in capsys.readouterr().err


def test_force_overwrites_shipped_files_and_keeps_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "core.yaml").write_text("x: 1\n")
    (tmp_path / "notes.txt").write_text("keep\n")
    (tmp_path / "var").mkdir(mode=0o755)
    assert main(["init", str(tmp_path), "--force"]) == 0
    assert (tmp_path / "config" / "core.yaml").read_bytes() == (REPO / "config" / "core.yaml").read_bytes()
    assert (tmp_path / "notes.txt").read_text() == "keep\n"
    assert "created audit/ audit/decision_logs/ logs/\n" in capsys.readouterr().out  # var/ existed


@pytest.mark.parametrize(
    ("blocker", "message"),
    [
        ("deploy", "deploy exists and is not a directory"),
        ("var", "var exists and is not a directory"),
        ("README.md/", "README.md is a directory where a file goes"),
    ],
)
def test_a_file_in_the_way_is_an_error_even_with_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], blocker: str, message: str
) -> None:
    path = tmp_path / blocker.rstrip("/")
    if blocker.endswith("/"):
        path.mkdir()
    else:
        path.write_text("in the way\n")
    before = _tree(tmp_path)
    assert main(["init", str(tmp_path), "--force"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert _tree(tmp_path) == before


def test_dir_that_is_a_file_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "f").write_text("")
    assert main(["init", str(tmp_path / "f")]) == 2
    assert "exists and is not a directory" in capsys.readouterr().err
