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
