"""Edit config/core.yaml in place, keeping comments and layout (ruamel round trip), never leaving an
invalid or half-written file behind."""

from __future__ import annotations

import hashlib
import io
import subprocess
from pathlib import Path

from ruamel.yaml import YAML

from tradeops.config.load import read_config_text, validate_config_text
from tradeops.domain.errors import ConfigError, UserInputError
from tradeops.fsutil import atomic_write_text


def sha256_of(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def _checked_write(path: Path, text: str) -> None:
    _cfg, problems = validate_config_text(text, str(path))
    if problems:
        raise ConfigError(f"refusing to write an invalid config: {problems[0]}", problems)
    atomic_write_text(path, text)


def set_allocation(config_path: Path, profile: str, strategy: str, value: float) -> float:
    """Set risk_profiles.<profile>.strategy_allocations.<strategy>; return the previous value."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    document = yaml.load(read_config_text(config_path))  # bounded like every config read
    try:
        allocations = document["risk_profiles"][profile]["strategy_allocations"]
    except (KeyError, TypeError):
        raise UserInputError(f"{config_path}: no risk_profiles.{profile}.strategy_allocations") from None
    previous = float(allocations.get(strategy, 0.0))
    allocations[strategy] = value
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    _checked_write(config_path, buffer.getvalue())
    return previous


def restore_config(config_path: Path, *, backup: Path | None = None, git_commit: str | None = None) -> str:
    """Put back a saved copy, or the file as it was at `git_commit`; return where it came from."""
    if git_commit:
        relative = config_path.as_posix()
        try:
            text = subprocess.run(
                ["git", "show", f"{git_commit}:{relative}"], check=True, capture_output=True, text=True
            ).stdout
        except (subprocess.CalledProcessError, FileNotFoundError) as exc:
            detail = getattr(exc, "stderr", "") or str(exc)
            raise UserInputError(
                f"--from-git {git_commit}: cannot read {relative}: {detail.strip()}"
            ) from None
        _checked_write(config_path, text)
        return f"git:{git_commit}"
    if backup is None or not backup.exists():
        raise UserInputError("no saved copy of the config to restore; pass --from-git COMMIT")
    _checked_write(config_path, backup.read_text(encoding="utf-8"))
    return str(backup)
