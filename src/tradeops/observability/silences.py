"""Silence the Stage4 alerts in Alertmanager, accountably.

`create_silence` is the one use case behind `tradeops alerts silence` (and the CI job's silence
mode): it creates the silence, reads back its real expiry, and hands the result to `record`
(the decision log). If recording fails, the silence is expired again, so no silence exists that
the audit trail does not show.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from tradeops.domain.errors import TradeopsError, UserInputError
from tradeops.observability.alertmanager import Matcher, parse_matcher
from tradeops.observability.durations import format_duration


@dataclass(frozen=True, slots=True)
class SilenceResult:
    silence_id: str
    state: str
    starts_at: str
    ends_at: str
    matchers: tuple[str, ...]
    created_by: str
    comment: str
    ticket: str
    duration: str
    alertmanager_url: str

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["matchers"] = list(self.matchers)
        return data


Recorder = Callable[[SilenceResult], object]


class SilenceApi(Protocol):
    """What the silence use cases need from an Alertmanager (AlertmanagerClient, or a fake)."""

    base_url: str

    def create_silence(
        self,
        matchers: tuple[Matcher, ...],
        starts_at: datetime,
        ends_at: datetime,
        created_by: str,
        comment: str,
    ) -> str: ...

    def get_silence(self, silence_id: str) -> dict[str, Any]: ...

    def expire_silence(self, silence_id: str) -> None: ...


def stage4_matchers(defaults: Mapping[str, str], extra: Sequence[str]) -> tuple[Matcher, ...]:
    """The configured Stage4 matchers plus `--matcher` ones; an explicit matcher replaces a default."""
    by_name = {name: Matcher(name, value) for name, value in defaults.items()}
    for text in extra:
        matcher = parse_matcher(text)
        by_name[matcher.name] = matcher
    if not by_name:
        raise UserInputError(
            "no matchers: set observability.alertmanager.stage4_matchers or pass --matcher label=value"
        )
    return tuple(by_name.values())


def _require(value: str, flag: str) -> str:
    if not value.strip():
        raise UserInputError(f"{flag} must not be blank")
    return value.strip()


def create_silence(
    client: SilenceApi,
    *,
    matchers: tuple[Matcher, ...],
    duration_s: float,
    ticket: str,
    created_by: str,
    comment: str | None,
    now: datetime,
    record: Recorder | None = None,
) -> SilenceResult:
    """Create the silence from `now` for `duration_s`, read it back, then `record` it."""
    ticket = _require(ticket, "--ticket")
    created_by = _require(created_by, "--created-by")
    text = f"{ticket}: {comment.strip()}" if comment and comment.strip() else f"{ticket}: Stage4 silence"
    ends = now + timedelta(seconds=duration_s)
    silence_id = client.create_silence(matchers, now, ends, created_by, text)
    stored = client.get_silence(silence_id)
    result = SilenceResult(
        silence_id=silence_id,
        state=str((stored.get("status") or {}).get("state", "unknown")),
        starts_at=str(stored.get("startsAt", "")),
        ends_at=str(stored.get("endsAt", "")),
        matchers=tuple(str(m) for m in matchers),
        created_by=created_by,
        comment=text,
        ticket=ticket,
        duration=format_duration(duration_s),
        alertmanager_url=client.base_url,
    )
    if record is not None:
        try:
            record(result)
        except TradeopsError as exc:
            client.expire_silence(silence_id)
            raise UserInputError(
                f"silence {silence_id} was expired again: it could not be recorded in the decision log: {exc}"
            ) from exc
        except BaseException:
            client.expire_silence(silence_id)
            raise
    return result


def expire_silence(
    client: SilenceApi, silence_id: str, record: Callable[[dict[str, Any]], object] | None = None
) -> dict[str, Any]:
    """Expire one silence (it must exist) and `record` what was expired."""
    silence_id = _require(silence_id, "--id")
    stored = client.get_silence(silence_id)
    client.expire_silence(silence_id)
    expired = client.get_silence(silence_id)
    if record is not None:
        record(expired)
    return {"before": stored, "after": expired}


def silence_rows(silences: list[dict[str, Any]], active_only: bool) -> list[dict[str, str]]:
    """Flat rows for display, newest end first; pending silences count as active."""
    rows = []
    for silence in silences:
        state = str((silence.get("status") or {}).get("state", ""))
        if active_only and state not in ("active", "pending"):
            continue
        matchers = ",".join(
            str(Matcher(m["name"], m["value"], m.get("isRegex", False), m.get("isEqual", True)))
            for m in silence.get("matchers") or []
        )
        rows.append(
            {
                "id": str(silence.get("id", "")),
                "state": state,
                "ends_at": str(silence.get("endsAt", "")),
                "created_by": str(silence.get("createdBy", "")),
                "matchers": matchers,
                "comment": str(silence.get("comment", "")),
            }
        )
    return sorted(rows, key=lambda row: row["ends_at"], reverse=True)
