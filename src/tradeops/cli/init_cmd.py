"""`tradeops init [DIR] [--force]`: a ready project directory (config, deploy/, runtime directories)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("init")
@click.argument("directory", type=click.Path(path_type=Path), default=Path("."))
@click.option("--force", is_flag=True, help="Overwrite files that already exist (nothing else is removed).")
def init(directory: Path, force: bool) -> int:
    """Write config/core.yaml, deploy/, runbooks and empty var/ audit/ logs/ into DIR (default: here)."""
    from tradeops.ops.project_init import init_project

    result = init_project(directory, force=force)
    tops = sorted({rel.split("/", 1)[0] + ("/" if "/" in rel else "") for rel in result.written})
    click.echo(f"initialized {result.directory}: {len(result.written)} files ({' '.join(tops)})")
    if result.created_dirs:
        click.echo(f"created {' '.join(d + '/' for d in result.created_dirs)}")
    where = "" if directory.resolve() == Path.cwd() else f"cd {directory} && "
    click.echo(f"next: {where}tradeops demo && tradeops alerts validate")
    return 0
