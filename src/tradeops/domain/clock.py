"""Time helpers shared by every layer (pure)."""

from __future__ import annotations

from datetime import UTC, datetime


def ms_to_iso(ts_ms: int) -> str:
    """Epoch ms -> ISO 8601 UTC with microseconds and +00:00, the decision log's timestamp form."""
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).isoformat()


def iso_to_ms(text: str) -> int:
    """Parse ISO 8601 (``Z`` or offset; naive means UTC) into epoch ms."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


class MarketTimeText:
    """Epoch ms -> `datetime.isoformat()` of that instant in UTC, for a stream of event times: the
    last value is cached (records of one cycle share a time) and the text up to the second is made
    once per second (the milliseconds are spliced in)."""

    __slots__ = ("_last", "_second")

    def __init__(self) -> None:
        self._last: tuple[int, str] = (0, "1970-01-01T00:00:00+00:00")
        self._second: tuple[int, str] = (0, "1970-01-01T00:00:00")

    def __call__(self, ts_ms: int) -> str:
        last_ms, text = self._last
        if ts_ms != last_ms:
            second, ms = divmod(ts_ms, 1000)
            last_second, prefix = self._second
            if second != last_second:
                prefix = datetime.fromtimestamp(second, tz=UTC).isoformat()[:-6]  # without +00:00
                self._second = (second, prefix)
            text = f"{prefix}.{ms:03d}000+00:00" if ms else prefix + "+00:00"
            self._last = (ts_ms, text)
        return text
