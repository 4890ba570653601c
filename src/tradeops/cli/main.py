"""Entry point of `tradeops`; maps error families to exit codes and one-line messages."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from tradeops import __version__
from tradeops.cli.lazy import LazyGroup
from tradeops.domain.errors import TradeopsError

COMMANDS = {
    "adopt": "tradeops.cli.adopt:adopt",
    "alerts": "tradeops.cli.alerts:alerts",
    "api": "tradeops.cli.api:api",
    "bench": "tradeops.cli.bench:bench",
    "certs": "tradeops.cli.certs:certs",
    "completion": "tradeops.cli.completion:completion",
    "config": "tradeops.cli.config_cmd:config",
    "data": "tradeops.cli.data:data",
    "decision-log": "tradeops.cli.decision_log:decision_log",
    "demo": "tradeops.cli.run:demo",
    "exchange-sim": "tradeops.cli.exchange_sim:exchange_sim",
    "incident": "tradeops.cli.incident:incident",
    "init": "tradeops.cli.init_cmd:init",
    "kill-switch": "tradeops.cli.kill_switch:kill_switch",
    "load-test": "tradeops.cli.load_test:load_test",
    "metrics": "tradeops.cli.metrics:metrics",
    "reconcile": "tradeops.cli.reconcile:reconcile",
    "rollback": "tradeops.cli.rollback:rollback",
    "run": "tradeops.cli.run:run",
    "security": "tradeops.cli.security:security",
    "smoke": "tradeops.cli.smoke:smoke",
    "state": "tradeops.cli.state:state",
    "cluster": "tradeops.cli.cluster:cluster",
    "strategy": "tradeops.cli.strategy:strategy",
    "watchdog": "tradeops.cli.watchdog:watchdog",
}


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tradeops")
def cli() -> None:
    """tradeops: multi-strategy crypto trading runtime with safe operations."""


def main(argv: Sequence[str] | None = None, prog_name: str = "tradeops") -> int:
    """Run the CLI and return its exit code (never a traceback for a user mistake)."""
    args = list(sys.argv[1:] if argv is None else argv)
    from tradeops.cli.project_root import enter_project_root

    enter_project_root([a for a in args if not a.startswith("-")][:1])
    try:
        result = cli.main(args=args, prog_name=prog_name, standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except TradeopsError as exc:
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    return result if isinstance(result, int) else 0


def run_script(command: Sequence[str], script: str) -> int:
    """Entry of the runbook shims: `python scripts/<script>.py ARGS` runs `tradeops COMMAND ARGS`."""
    return main([*command, *sys.argv[1:]], prog_name=f"scripts/{script}.py")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
