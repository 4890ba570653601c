"""Load config/core.yaml: YAML -> AppConfig, with every problem reported as `file:line path: message`.

Input is bounded before and during parsing: the file may hold at most MAX_CONFIG_BYTES and
MAX_CONFIG_LINES, and the document after alias and merge-key (`<<:`) expansion at most
MAX_CONFIG_NODES values nested at most MAX_CONFIG_DEPTH deep. A "billion laughs" document or an
alias cycle therefore fails in milliseconds with one line instead of eating memory.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.error import YAMLError

from tradeops.config.models import PROFILE_NAMES, STRATEGY_NAMES, AppConfig, EnvironmentConfig
from tradeops.domain.errors import ConfigError, UserInputError
from tradeops.domain.market import interval_to_ms

DEFAULT_CONFIG_PATH = Path("config/core.yaml")
MAX_CONFIG_BYTES = 128 * 1024  # the shipped file is about 8 KiB; ruamel parses ~50 KiB/s
MAX_CONFIG_LINES = 5_000
MAX_CONFIG_NODES = 20_000  # values after alias/merge expansion (the shipped file has about 400)
MAX_CONFIG_DEPTH = 32
_MAX_SHOWN = 80  # characters of an offending value quoted in a message

Problem = tuple[tuple[str | int, ...], str]


class _TooBig(Exception):
    """The document expands beyond the limits (reported as one problem, never raised further)."""


class _Refused(Exception):
    """A value the config may not hold, at `path` (reported as one problem)."""

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path


_STR_TAG = "tag:yaml.org,2002:str"


def _tag_of(node: Any) -> str | None:
    tag = getattr(node, "tag", None)
    value = getattr(tag, "value", tag)
    return value if isinstance(value, str) and value else None


def _plain(node: Any, budget: list[int], path: tuple[str | int, ...] = ()) -> Any:
    """Plain dicts/lists, expanding aliases and merge keys, within the node and depth budget.

    Explicit YAML tags are refused (`!!str` excepted): a config holds plain values only."""
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooBig(
            f"document has more than {MAX_CONFIG_NODES} values after expanding YAML aliases and "
            "merge keys; remove the alias chain (or split the file)"
        )
    if len(path) > MAX_CONFIG_DEPTH:
        raise _TooBig(f"nested deeper than {MAX_CONFIG_DEPTH} levels (or an alias refers to itself)")
    tag = _tag_of(node)
    if isinstance(node, TaggedScalar) and tag == _STR_TAG:
        return str(node.value)
    if tag is not None:
        raise _Refused(path, f"YAML tag {tag} is not allowed (a config holds plain values)")
    if isinstance(node, dict):
        return {str(k): _plain(v, budget, (*path, str(k))) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v, budget, (*path, i)) for i, v in enumerate(node)]
    return node


def _merged_line(node: CommentedMap, key: str) -> int | None:
    """Line of `key` when it comes from a merge key (`<<: *anchor`): the anchor's line."""
    for source in getattr(node, "merge", ()) or ():
        mapping = source[1] if isinstance(source, tuple) else source
        if isinstance(mapping, CommentedMap) and key in mapping:
            if key in mapping.lc.data:
                return int(mapping.lc.key(key)[0]) + 1
            return _merged_line(mapping, key)
    return None


def _line_of(root: Any, path: Iterable[str | int]) -> int:
    """1-based line of the deepest existing node on `path` (the file's first line if none)."""
    node, line = root, 1
    for key in path:
        if isinstance(node, CommentedMap) and key in node:
            own = key in node.lc.data  # a key merged in by `<<:` has its line in the anchor
            line = node.lc.key(key)[0] + 1 if own else _merged_line(node, str(key)) or line
            node = node[key]
        elif isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
            line = node.lc.item(key)[0] + 1
            node = node[key]
        else:
            break
    return line


def _dotted(path: Iterable[str | int]) -> str:
    return ".".join(str(p) for p in path)


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _allocation_problems(raw: dict[str, Any]) -> Iterator[Problem]:
    """Checked on the raw document so the sum is reported even when other fields fail the schema."""
    profiles = raw.get("risk_profiles")
    for name, profile in (profiles or {}).items() if isinstance(profiles, dict) else ():
        allocations = profile.get("strategy_allocations") if isinstance(profile, dict) else None
        if not isinstance(allocations, dict):
            continue
        values = [v for v in allocations.values() if isinstance(v, int | float) and not isinstance(v, bool)]
        total = math.fsum(v for v in values if isinstance(v, float) or abs(v) < 2**53)
        if math.isfinite(total) and total > 1.0 + 1e-9:
            yield ("risk_profiles", name, "strategy_allocations"), f"sum {total:.4g} > 1.0"


def _semantic_problems(cfg: AppConfig) -> Iterator[Problem]:
    for name, profile in cfg.risk_profiles.items():
        for bucket in profile.instrument_buckets:
            if bucket not in cfg.instrument_buckets:
                yield (("risk_profiles", name, "instrument_buckets"), f"unknown bucket {bucket!r}")
    missing = [p for p in PROFILE_NAMES if p not in cfg.risk_profiles]
    if missing:
        yield ("risk_profiles",), f"missing profile(s) {', '.join(missing)}"
    yield from _schedule_problems(cfg)
    yield from _environment_problems(cfg)


def _schedule_problems(cfg: AppConfig) -> Iterator[Problem]:
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


def _environment_problems(cfg: AppConfig) -> Iterator[Problem]:
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


def _pydantic_problems(exc: ValidationError) -> Iterator[Problem]:
    for err in exc.errors():
        loc = tuple(err["loc"])
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown key (not part of the schema; check spelling)"
        elif err["type"] == "value_error":
            message = str(err.get("ctx", {}).get("error", message))
        elif "input" in err and not isinstance(err["input"], dict | list):
            message = f"{message} (got {_shown(err['input'])})"
        yield loc, _one_line(message)


def _too_deep_flow_line(text: str) -> int | None:
    """Line where `[`/`{` flow collections nest deeper than MAX_CONFIG_DEPTH, else None.

    Checked before parsing because ruamel's scanner slows down sharply on deep flow sequences
    (2 000 `[` take seconds). Quoted scalars and comments are skipped; a quote opens a scalar only
    where YAML lets one start (after a blank, `[`, `{`, `,` or at a line start)."""
    depth, line, quote, previous = 0, 1, "", "\n"
    i, end = 0, len(text)
    while i < end:
        char = text[i]
        if char == "\n":
            line += 1
        if quote:
            if char == "\\" and quote == '"':
                i += 1
            elif char == quote and not (quote == "'" and text[i + 1 : i + 2] == "'"):
                quote = ""
            elif char == quote:
                i += 1  # '' inside a single-quoted scalar
        elif char in "'\"" and previous in " \t\n[{,":
            quote = char
        elif char == "#" and previous in " \t\n":
            newline = text.find("\n", i)
            i = end if newline < 0 else newline
            continue
        elif char in "[{":
            depth += 1
            if depth > MAX_CONFIG_DEPTH:
                return line
        elif char in "]}":
            depth = max(0, depth - 1)
        previous = char
        i += 1
    return None


def _parse(text: str, source: str) -> tuple[Any, str | None]:
    """The round-trip tree of `text`, or None and one problem line."""
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > MAX_CONFIG_BYTES:
        return None, f"{source}:1 file is {size} bytes; a config may hold at most {MAX_CONFIG_BYTES}"
    lines = text.count("\n") + 1
    if lines > MAX_CONFIG_LINES:
        return None, f"{source}:1 file has {lines} lines; a config may hold at most {MAX_CONFIG_LINES}"
    deep = _too_deep_flow_line(text)
    if deep is not None:
        return None, f"{source}:{deep} YAML nested too deeply to parse (at most {MAX_CONFIG_DEPTH} levels)"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # e.g. a reused anchor: ambiguous, so refused
            return YAML(typ="rt").load(text), None
    except Warning as exc:
        lines_named = re.findall(r"line (\d+), column", str(exc))
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, f"{source}:{lines_named[-1] if lines_named else 1} YAML problem: {first}"
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        return None, f"{source}:{line} YAML syntax error: {_one_line(getattr(exc, 'problem', None) or exc)}"
    except RecursionError:
        return None, f"{source}:1 YAML nested too deeply to parse (at most {MAX_CONFIG_DEPTH} levels)"
    except (ValueError, TypeError, AttributeError, KeyError, IndexError, OverflowError) as exc:
        # ruamel's constructors raise plain exceptions for some values (e.g. a 13th month in a
        # timestamp, a merge key on a scalar); they are the user's input, not our bug.
        return None, f"{source}:1 YAML value cannot be read: {_one_line(exc) or type(exc).__name__}"


def validate_config_text(text: str, source: str) -> tuple[AppConfig | None, tuple[str, ...]]:
    """Parse and validate; return the config (or None) and every problem as `source:line path: msg`."""
    root, problem = _parse(text, source)
    if problem is not None:
        return None, (problem,)
    if not isinstance(root, CommentedMap):
        return None, (f"{source}:1 top level must be a mapping",)
    try:
        raw = _plain(root, [MAX_CONFIG_NODES])
    except _Refused as exc:
        where = _dotted(exc.path) or "document"
        return None, (f"{source}:{_line_of(root, exc.path)} {where}: {exc}",)
    except (_TooBig, RecursionError) as exc:
        why = str(exc) if isinstance(exc, _TooBig) else "an alias refers to itself"
        return None, (f"{source}:1 {why}",)
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


def read_config_text(path: str | Path) -> str:
    """The text of a config file, read with the size limit; ConfigError (one line) otherwise."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found; pass --config PATH") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config ({exc.strerror or exc})") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}:1 file is larger than {MAX_CONFIG_BYTES} bytes (the limit for a config)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}:{line} not UTF-8 text (byte {exc.start}); save the file as UTF-8"
        ) from None


def validate_config_file(path: str | Path) -> tuple[AppConfig | None, tuple[str, ...]]:
    """`validate_config_text` of a file; an unreadable file is one problem."""
    try:
        text = read_config_text(path)
    except ConfigError as exc:
        return None, (str(exc),)
    return validate_config_text(text, str(path))


def load_config(path: str | Path = DEFAULT_CONFIG_PATH) -> AppConfig:
    """Load and validate; raise ConfigError whose message is the first problem (one line)."""
    path = Path(path)
    cfg, problems = validate_config_text(read_config_text(path), str(path))
    if cfg is None:
        more = f" (+{len(problems) - 1} more; run `tradeops config validate`)" if len(problems) > 1 else ""
        raise ConfigError(problems[0] + more, problems)
    return cfg


ENVIRONMENT_ENV = "TRADEOPS_ENVIRONMENT"  # the operator's shell names the environment once


def environment_of(cfg: AppConfig, name: str, where: str | Path = "config") -> EnvironmentConfig:
    """The environment `name` of `cfg`, or one line naming the known ones (and the shell variable,
    when the name is the one it gives: the operator may not have typed it)."""
    env = cfg.environments.get(name)
    if env is None:
        source = f" (from {ENVIRONMENT_ENV})" if os.environ.get(ENVIRONMENT_ENV) == name else ""
        known = ", ".join(cfg.environments)
        raise UserInputError(f"--environment {name}{source}: not in {where}; known: {known}")
    return env
