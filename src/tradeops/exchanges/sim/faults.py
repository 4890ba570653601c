"""Faults the admin endpoint injects into the simulator (drills and tests)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any


@dataclass
class Faults:
    latency_ms: int = 0  # added before every answer
    errors_5xx: int = 0  # the next N requests answer 503
    storm_429: int = 0  # the next N requests answer 429 (weight limit) with Retry-After
    retry_after_s: int = 1  # Retry-After sent during a 429 storm
    hang_after_accept: int = 0  # the next N new orders are accepted, then the answer never comes
    hang_seconds: float = 30.0
    fill_ratio: str | None = None  # each match fills at most this share of an order ("0.25")
    stale: bool = False  # the market stops moving (quotes and candles frozen)

    def update(self, changes: dict[str, Any]) -> None:
        """Apply JSON changes, checking names and types (a bad request changes nothing)."""
        staged = Faults(**asdict(self))
        defaults = Faults()
        for key, value in changes.items():
            if key not in self.__dataclass_fields__:
                raise ValueError(f"unknown fault {key!r}; known: {', '.join(self.__dataclass_fields__)}")
            kind = type(getattr(defaults, key))
            if key == "fill_ratio":
                if value is not None and not 0 < Decimal(str(value)) <= 1:
                    raise ValueError("fill_ratio must be in (0, 1], or null")
                value = None if value is None else str(value)
            elif kind is bool:
                if not isinstance(value, bool):
                    raise ValueError(f"{key} must be true or false")
            elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{key} must be a non-negative number")
            else:
                value = kind(value)
            setattr(staged, key, value)
        for key in changes:
            setattr(self, key, getattr(staged, key))

    def take(self, name: str) -> bool:
        """Consume one shot of a counted fault."""
        left = getattr(self, name)
        if left > 0:
            setattr(self, name, left - 1)
            return True
        return False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
