"""POST /v1/config/apply: the control API's door to `tradeops config apply` (same use case).

The file is the API process's own --config (a caller never names a path); `from_git` restores a
commit's version of it first."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import Field

from tradeops.control_api import schemas
from tradeops.control_api.rbac import authorize
from tradeops.control_api.routes import AUTH_RESPONSES, BAD_REQUEST, Caller, Ctx, WriteLock, _door, offload
from tradeops.domain.errors import ConfigError
from tradeops.ops.config_apply import ApplyConfig, ConfigApplied, apply_config, restore_from_git

router = APIRouter(prefix="/v1", dependencies=[Depends(authorize)], responses=AUTH_RESPONSES)
MAX_API_WAIT_SECONDS = 30.0


class ConfigApplyRequest(schemas.StrategyChange):
    from_git: str | None = Field(
        default=None, min_length=1, max_length=200, description="Restore this commit first"
    )
    wait_seconds: float = Field(default=10.0, ge=0, le=MAX_API_WAIT_SECONDS)


class ConfigApplyView(schemas.Model):
    status: str = Field(description="applied | refused | recorded | unconfirmed | unchanged")
    request_id: str
    config_sha384: str
    problems: list[str]
    changes: list[dict[str, Any]] | None
    restart_required: list[str] = Field(default_factory=list)
    git: dict[str, Any] | None
    scheduler_pid: int | None


@router.post(
    "/config/apply",
    response_model=ConfigApplyView,
    summary="Validate the configuration file, sign config_change and hand it to the running scheduler",
    responses=BAD_REQUEST,
)
async def post_config_apply(
    body: ConfigApplyRequest, ctx: Ctx, caller: Caller, lock: WriteLock
) -> dict[str, Any]:
    command = ApplyConfig(
        config_path=ctx.config_path,
        reason=body.reason,
        ticket=body.ticket,
        actor=_door(caller).actor(body.requested_by),
        from_git=body.from_git,
        wait_seconds=body.wait_seconds,
    )

    def write() -> ConfigApplied:
        with lock:
            if body.from_git is not None:
                restore_from_git(ctx.config_path, body.from_git)
            return apply_config(ctx, command)

    try:
        outcome = await offload(write)
    except ConfigError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, " | ".join(exc.problems or (str(exc),))) from None
    view = outcome.to_dict()
    view.pop("change_count", None)
    return view
