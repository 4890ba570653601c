"""`tradeops completion bash|zsh|fish`: print click's shell completion script for tradeops."""

from __future__ import annotations

import click

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_TRADEOPS_COMPLETE"


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the completion script; e.g. `source <(tradeops completion bash)` in ~/.bashrc."""
    from click.shell_completion import get_completion_class

    from tradeops.cli.main import cli

    completer = get_completion_class(shell)
    assert completer is not None  # every name in SHELLS is one of click's built-in shells
    click.echo(completer(cli, {}, "tradeops", COMPLETE_VAR).source())
