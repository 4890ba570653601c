"""Live updates as Server-Sent Events: `state` when the trading state, kill switch or a strategy's
requested/observed status changes, `fill` for each new fill, `alerts` when the set of active alerts
changes. The stream polls the same read use cases as the read API (no second source of truth)."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import StreamingResponse

from tradeops.control_api.rbac import authorize
from tradeops.control_api.read_routes import reads
from tradeops.control_api.routes import Ctx, offload
from tradeops.ops.read_alerts import AlertsQuery, read_alerts
from tradeops.ops.read_models import PageQuery
from tradeops.ops.read_portfolio import TradesQuery, read_fills
from tradeops.ops.read_state import StateQuery, read_state
from tradeops.ops_ports import OpsContext

__all__ = ["frame", "router", "stream"]

router = reads  # the read API's router, with the event stream registered on it below
KEEPALIVE_EVERY = 15  # polls between comment lines that keep proxies from closing the stream


def frame(event: str, data: object) -> str:
    """One SSE frame (`data` as one JSON line)."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'), default=str)}\n\n"


def _state_key(ctx: OpsContext) -> tuple[str, dict[str, Any]]:
    view = asdict(read_state(ctx, StateQuery()))
    beat = view.get("heartbeat") or {}
    # what changes the page (not the heartbeat age, which changes on every poll)
    key = json.dumps(
        [
            view["verdict"],
            view["new_orders_allowed"],
            view["scopes"],
            view["kill_switch"]["requested"],
            view["kill_switch"]["observed"],
            view["strategies"],
            beat.get("global_state"),
        ],
        sort_keys=True,
        default=str,
    )
    return key, view


def _fills_since(ctx: OpsContext, seen: set[str] | None) -> tuple[set[str], list[dict[str, Any]]]:
    page = read_fills(ctx, TradesQuery(page=PageQuery(limit=200)))
    ids = {f"{f.client_order_id}@{f.at}@{f.quantity}" for f in page.items}
    if seen is None:
        return ids, []
    return seen | ids, [
        asdict(f) for f in page.items if f"{f.client_order_id}@{f.at}@{f.quantity}" not in seen
    ]


def _alerts_key(ctx: OpsContext) -> tuple[str, dict[str, Any]]:
    view = asdict(read_alerts(ctx, AlertsQuery()))
    fingerprints = sorted(str(a.get("fingerprint", "")) for a in view["alerts"])
    return json.dumps([fingerprints, view["error"]]), view


async def stream(
    request: Request, ctx: OpsContext, interval_s: float, max_events: int | None
) -> AsyncIterator[str]:
    """Frames until the client goes away (or `max_events` frames were sent, for bounded readers)."""
    state_key = alerts_key = None
    seen: set[str] | None = None
    sent = polls = 0
    yield ": tradeops events\n\n"
    while not await request.is_disconnected():
        new_state, state = await offload(lambda: _state_key(ctx))
        seen, fresh = await offload(functools.partial(_fills_since, ctx, seen))
        new_alerts, alerts = await offload(lambda: _alerts_key(ctx))
        frames = []
        if new_state != state_key:
            state_key = new_state
            frames.append(frame("state", state))
        frames.extend(frame("fill", fill) for fill in reversed(fresh))
        if new_alerts != alerts_key:
            alerts_key = new_alerts
            frames.append(frame("alerts", alerts))
        for text in frames:
            yield text
            sent += 1
            if max_events is not None and sent >= max_events:
                return
        polls += 1
        if polls % KEEPALIVE_EVERY == 0:
            yield ": keep-alive\n\n"
        await asyncio.sleep(interval_s)


@reads.get(
    "/events",
    summary="Live updates (Server-Sent Events): state, fill, alerts",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "An event stream"}},
    dependencies=[Depends(authorize)],
)
async def get_events(
    request: Request,
    ctx: Ctx,
    interval_s: Annotated[float, Query(ge=0.1, le=30.0, description="Poll interval")] = 1.0,
    max_events: Annotated[int | None, Query(ge=1, le=100_000, description="Close after this many")] = None,
) -> StreamingResponse:
    return StreamingResponse(
        stream(request, ctx, interval_s, max_events),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
