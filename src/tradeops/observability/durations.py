"""Human durations for operator flags: `90s`, `15m`, `2h`, `1d`, `1h30m`."""

from __future__ import annotations

import re

from tradeops.domain.errors import UserInputError

UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_WHOLE = re.compile(r"(?:\d+(?:\.\d+)?[smhd])+")


def parse_duration(text: str, flag: str = "--duration", units: str = "smhd") -> float:
    """Seconds in `text`; a UserInputError naming `flag` when it is not e.g. 15m, 2h or 1h30m."""
    cleaned = text.strip().lower()
    allowed = ", ".join(units)
    if not _WHOLE.fullmatch(cleaned) or any(unit not in units for _, unit in _PART.findall(cleaned)):
        raise UserInputError(f"{flag} {text!r}: give a number with a unit ({allowed}), e.g. 15m, 2h or 1h30m")
    seconds = sum(float(number) * UNIT_SECONDS[unit] for number, unit in _PART.findall(cleaned))
    if seconds <= 0:
        raise UserInputError(f"{flag} {text!r}: must be longer than zero")
    return seconds


def format_duration(seconds: float) -> str:
    """Compact form, e.g. 5400 -> `1h30m`, 15 -> `15s`."""
    remaining = round(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"
