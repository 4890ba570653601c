"""Silencing the Stage4 alerts: one use case for the CLI, the rollback and the CI workflow."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from tradeops.observability.durations import parse_duration
from tradeops.observability.silences import SilenceResult, create_silence, expire_silence, stage4_matchers
from tradeops.ops_ports import OpsContext


def silence_stage4_alerts(
    ctx: OpsContext,
    *,
    url: str,
    duration: str | None,
    ticket: str,
    created_by: str,
    matchers: Sequence[str] = (),
    comment: str | None = None,
    audit: Mapping[str, object] | None = None,
) -> tuple[SilenceResult, dict[str, Any]]:
    """Create the silence through Alertmanager's API v2 and record it (kind alert_silence); a silence
    that cannot be recorded is expired again, so there is never an unaudited silence. Answers the
    silence and the decision-log entry; `audit` goes into the entry's metadata (who asked, through
    which door)."""
    settings = ctx.cfg.observability.alertmanager
    seconds = parse_duration(duration or settings.default_silence_duration)
    selected = stage4_matchers(settings.stage4_matchers, matchers)

    entries: list[dict[str, Any]] = []

    def record(result: SilenceResult) -> None:
        entry = ctx.operator_log.append(
            kind="alert_silence",
            status="silenced",
            artefacts={
                "silence_id": result.silence_id,
                "ticket": result.ticket,
                "ends_at": result.ends_at,
                "alertmanager_url": result.alertmanager_url,
            },
            metadata={
                "matchers": list(result.matchers),
                "created_by": result.created_by,
                "comment": result.comment,
                "starts_at": result.starts_at,
                "duration": result.duration,
                **(audit or {}),
            },
            tags=("silence",),
        )
        entries.append(entry)

    with ctx.alert_manager.connect(url) as client:
        result = create_silence(
            client,
            matchers=selected,
            duration_s=seconds,
            ticket=ticket,
            created_by=created_by,
            comment=comment,
            now=datetime.fromtimestamp(ctx.clock_ms() / 1000, UTC),
            record=record,
        )
    return result, entries[0]


def unsilence_alerts(
    ctx: OpsContext,
    *,
    url: str,
    silence_id: str,
    expired_by: str,
    ticket: str | None = None,
    audit: Mapping[str, object] | None = None,
) -> dict[str, Any]:
    """Expire one silence now (alerts notify again) and record it (kind alert_silence, expired).
    The answer holds the silence `before` and `after`, and the decision-log `entry`."""
    entries: list[dict[str, Any]] = []

    def record(expired: dict[str, Any]) -> None:
        artefacts: dict[str, object] = {"silence_id": silence_id, "alertmanager_url": url}
        if ticket:
            artefacts["ticket"] = ticket
        entry = ctx.operator_log.append(
            kind="alert_silence",
            status="expired",
            artefacts=artefacts,
            metadata={
                "comment": str(expired.get("comment", "")),
                "ends_at": str(expired.get("endsAt", "")),
                "expired_by": expired_by,
                **(audit or {}),
            },
            tags=("silence",),
        )
        entries.append(entry)

    with ctx.alert_manager.connect(url) as client:
        outcome = expire_silence(client, silence_id, record)
    return {**outcome, "entry": entries[0]}
