"""Load config/core.yaml: YAML -> AppConfig, with every problem reported as `file:line path: message`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from tradeops.config.models import PROFILE_NAMES, STRATEGY_NAMES, AppConfig
from tradeops.domain.errors import ConfigError
from tradeops.domain.market import interval_to_ms

DEFAULT_CONFIG_PATH = Path("config/core.yaml")


def _plain(node: Any) -> Any:
    if isinstance(node, CommentedMap):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, CommentedSeq):
        return [_plain(v) for v in node]
    return node


def _line_of(root: Any, path: Iterable[str | int]) -> int:
    """1-based line of the deepest existing node on `path` (the file's first line if none)."""
    node, line = root, 1
    for key in path:
        if isinstance(node, CommentedMap) and key in node:
            line = node.lc.key(key)[0] + 1
            node = node[key]
        elif isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
            line = node.lc.item(key)[0] + 1
            node = node[key]
        else:
            break
    return line


def _dotted(path: Iterable[str | int]) -> str:
    return ".".join(str(p) for p in path)


def _allocation_problems(raw: dict[str, Any]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Checked on the raw document so the sum is reported even when other fields fail the schema."""
    profiles = raw.get("risk_profiles")
    for name, profile in (profiles or {}).items() if isinstance(profiles, dict) else ():
        allocations = profile.get("strategy_allocations") if isinstance(profile, dict) else None
        if not isinstance(allocations, dict):
            continue
        values = [v for v in allocations.values() if isinstance(v, int | float) and not isinstance(v, bool)]
        total = sum(values)
        if total > 1.0 + 1e-9:
            yield ("risk_profiles", name, "strategy_allocations"), f"sum {total:.4g} > 1.0"


def _semantic_problems(cfg: AppConfig) -> Iterator[tuple[tuple[str | int, ...], str]]:
    for name, profile in cfg.risk_profiles.items():
        for bucket in profile.instrument_buckets:
            if bucket not in cfg.instrument_buckets:
                yield (("risk_profiles", name, "instrument_buckets"), f"unknown bucket {bucket!r}")
    missing = [p for p in PROFILE_NAMES if p not in cfg.risk_profiles]
    if missing:
        yield ("risk_profiles",), f"missing profile(s) {', '.join(missing)}"
    yield from _schedule_problems(cfg)
    yield from _environment_problems(cfg)


def _schedule_problems(cfg: AppConfig) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if cfg.runtime.default_scheduler not in cfg.runtime.multi_strategy_schedulers:
        yield ("runtime", "default_scheduler"), f"no scheduler named {cfg.runtime.default_scheduler!r}"
    for sched_name, sched in cfg.runtime.multi_strategy_schedulers.items():
        base = ("runtime", "multi_strategy_schedulers", sched_name, "schedules")
        effective = 0.0
        for name, schedule in sched.schedules.items():
            where = (*base, name)
            strategy = schedule.strategy or name
            if strategy not in STRATEGY_NAMES:
                yield where, f"unknown strategy {strategy!r}; valid: {', '.join(STRATEGY_NAMES)}"
            profile = cfg.risk_profiles.get(schedule.risk_profile)
            if profile is None:
                yield (*where, "risk_profile"), f"unknown risk profile {schedule.risk_profile!r}"
            else:
                effective += profile.allocation(name)
            try:
                interval_to_ms(schedule.interval)
            except ValueError as exc:
                yield (*where, "interval"), str(exc)
            if schedule.max_drift_seconds > schedule.cadence_seconds:
                yield (*where, "max_drift_seconds"), "must not exceed cadence_seconds"
            if strategy == "cross_exchange" and len(schedule.venues) < 2:
                yield (*where, "venues"), "cross_exchange needs two venues"
        if effective > 1.0 + 1e-9:
            yield base, f"scheduled strategies' allocations sum {effective:.4g} > 1.0 of equity"


def _environment_problems(cfg: AppConfig) -> Iterator[tuple[tuple[str | int, ...], str]]:
    for env_name, env in cfg.environments.items():
        if env.risk_profile not in cfg.risk_profiles:
            yield ("environments", env_name, "risk_profile"), f"unknown risk profile {env.risk_profile!r}"
        if env.quote_asset not in env.initial_balances:
            yield ("environments", env_name, "initial_balances"), f"no balance for {env.quote_asset}"
    xparams = cfg.strategies.cross_exchange
    if xparams.spread_exit >= xparams.spread_entry:
        yield ("strategies", "cross_exchange", "spread_exit"), "must be below spread_entry"
    trend = cfg.strategies.daily_trend
    if trend.fast_ma >= trend.slow_ma:
        yield ("strategies", "daily_trend", "fast_ma"), "must be below slow_ma"


def _pydantic_problems(exc: ValidationError) -> Iterator[tuple[tuple[str | int, ...], str]]:
    for err in exc.errors():
        loc = tuple(err["loc"])
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown key (not part of the schema; check spelling)"
        elif "input" in err and not isinstance(err["input"], dict | list):
            message = f"{message} (got {err['input']!r})"
        yield loc, message


def validate_config_text(text: str, source: str) -> tuple[AppConfig | None, tuple[str, ...]]:
    """Parse and validate; return the config (or None) and every problem as `source:line path: msg`."""
    try:
        root = YAML(typ="rt").load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        return None, (f"{source}:{line} YAML syntax error: {getattr(exc, 'problem', exc)}",)
    if not isinstance(root, CommentedMap):
        return None, (f"{source}:1 top level must be a mapping",)
    raw = _plain(root)
    found = list(_allocation_problems(raw))
    cfg: AppConfig | None
    try:
        cfg = AppConfig.model_validate(raw)
    except ValidationError as exc:
        cfg = None
        found.extend(_pydantic_problems(exc))
    if cfg is not None:
        found.extend(_semantic_problems(cfg))
    found.sort(key=lambda item: _line_of(root, item[0]))
    problems = tuple(f"{source}:{_line_of(root, loc)} {_dotted(loc)}: {msg}" for loc, msg in found)
    return (None if problems else cfg), problems


def load_config(path: str | Path = DEFAULT_CONFIG_PATH) -> AppConfig:
    """Load and validate; raise ConfigError whose message is the first problem (one line)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found; pass --config PATH") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config ({exc.strerror})") from None
    cfg, problems = validate_config_text(text, str(path))
    if cfg is None:
        more = f" (+{len(problems) - 1} more; run `tradeops config validate`)" if len(problems) > 1 else ""
        raise ConfigError(problems[0] + more, problems)
    return cfg
