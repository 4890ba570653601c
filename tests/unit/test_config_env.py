"""TRADEOPS_CONFIG: every command taking --config honours it, says when it is in use, and a missing
file is one line naming the variable and the path."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from tradeops.cli import main as cli_main
from tradeops.cli.main import main
from tradeops.cli.options import CONFIG_ENV

REPO = Path(__file__).resolve().parents[2]
SHIPPED = (REPO / "config" / "core.yaml").read_text()


def _commands(group: click.Group, ctx: click.Context, prefix: str) -> Iterator[tuple[str, click.Command]]:
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        path = f"{prefix} {name}".strip()
        yield path, command
        if isinstance(command, click.Group):
            yield from _commands(command, ctx, path)


def test_every_config_option_reads_tradeops_config() -> None:
    ctx = click.Context(cli_main.cli)
    with_config = []
    for path, command in _commands(cli_main.cli, ctx, ""):
        for param in command.params:
            if "--config" in getattr(param, "opts", ()):
                with_config.append(path)
                assert param.envvar == CONFIG_ENV, f"tradeops {path}: --config ignores {CONFIG_ENV}"
    assert {"demo", "run", "config validate", "alerts silence", "incident list", "certs init"} <= set(
        with_config
    )


@pytest.mark.parametrize(
    "args",
    [
        ["config", "validate"],
        ["config", "show"],
        ["demo"],
        ["run", "--run-once"],
        ["incident", "list"],
        ["security", "audit"],
        ["bench", "paper"],
        ["alerts", "silences"],
        ["kill-switch", "status"],
        ["strategy", "list"],
        ["certs", "show"],
    ],
    ids=" ".join,
)
def test_missing_file_named_by_the_variable_is_one_line(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere" / "core.yaml"
    monkeypatch.setenv(CONFIG_ENV, str(missing))
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"error: {CONFIG_ENV}={missing}: no such file; point {CONFIG_ENV} at a core.yaml or unset it\n"
    )


def test_the_config_from_the_variable_is_used_and_announced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(SHIPPED.replace("    max_open_positions: 8", "    max_open_positions: 5", 1))
    monkeypatch.setenv(CONFIG_ENV, str(other))
    monkeypatch.chdir(tmp_path)  # the variable's project (another one is announced too: test_project_root)
    assert main(["config", "show"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["risk_profiles"]["balanced"]["max_open_positions"] == 5
    assert captured.err == f"config: {other} (from {CONFIG_ENV})\n"


def test_the_flag_wins_over_the_variable_and_the_default_is_silent(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.setenv(CONFIG_ENV, "/nowhere/core.yaml")
    assert main(["config", "validate", "--config", "config/core.yaml"]) == 0
    assert capsys.readouterr().err == ""
    monkeypatch.delenv(CONFIG_ENV)
    assert main(["config", "validate"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "config/core.yaml: OK\n" and captured.err == ""
