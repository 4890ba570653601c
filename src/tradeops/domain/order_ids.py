"""Client order ids: `<schedule>-[e<epoch>-]<seconds since 2000>-<sequence>`, numbers in base 36.

Binance takes at most 36 characters. The sequence is account-wide and persisted (it continues
after a restart), the epoch (cluster mode) grows with every leadership term, and the seconds keep
ids apart should the store ever start again from nothing. For the longest built-in strategy name
(17 characters) the id fits 36 characters up to epoch 36**3 - 1, sequence 36**6 - 1 and the year
2068 (six base-36 digits of seconds; see tests/unit/test_order_ids.py).
"""

from __future__ import annotations

DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
BINANCE_MAX_LEN = 36
SINCE_S = 946_684_800  # 2000-01-01T00:00:00Z


def base36(value: int) -> str:
    if value < 0:
        raise ValueError(f"base36: {value} is negative")
    out = ""
    while True:
        value, digit = divmod(value, 36)
        out = DIGITS[digit] + out
        if value == 0:
            return out


def epoch_tag(epoch: int) -> str:
    """The cluster part of an id (empty outside cluster mode)."""
    return f"e{base36(epoch)}-"


_last_seconds: tuple[int, str] = (0, base36(0))  # every order of a step has the same seconds


def client_order_id(schedule: str, tag: str, now_ms: int, seq: int) -> str:
    global _last_seconds
    seconds = max(0, now_ms // 1000 - SINCE_S)
    last = _last_seconds
    if last[0] != seconds:
        last = _last_seconds = (seconds, base36(seconds))
    return f"{schedule}-{tag}{last[1]}-{base36(seq)}"


def id_sequence(client_order_id: str) -> int:
    """The sequence at the end of an id (0 when absent). Ids written before base 36 end in decimal
    digits; read as base 36 they give a number at least as large, so a new sequence never repeats."""
    tail = client_order_id.rsplit("-", 1)[-1]
    if not tail or any(ch not in DIGITS for ch in tail):
        return 0
    return int(tail, 36)
