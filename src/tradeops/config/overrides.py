"""The override file's document (the global kill switch as files, see runtime/overrides.py): its
schema, the components it can stop, and what the engine does while it is active."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tradeops.domain.clock import iso_to_ms

OVERRIDE_SCHEMA = "stage4.scheduler.override"
OVERRIDE_SCHEMA_VERSION = "1.0"
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    file_name: str
    action: str


COMPONENTS: dict[str, Component] = {
    "multi_strategy": Component("multi_strategy", "multi_strategy_disable.json", "disable_multi_strategy"),
    "decision_orchestrator": Component(
        "decision_orchestrator", "decision_orchestrator_disable.json", "disable_decision_orchestrator"
    ),
}
COMPONENT_BY_FILE = {c.file_name: c for c in COMPONENTS.values()}
PositionsPolicy = Literal["hold", "reduce", "flatten"]


def format_timestamp(ts_ms: int) -> str:
    """Epoch ms -> ``YYYY-MM-DDTHH:MM:SSZ`` (the override file's timestamp form)."""
    return datetime.fromtimestamp(ts_ms // 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class OnDisable(BaseModel):
    """What the engine does with open orders and positions while the override is active."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cancel_open_orders: bool = True
    positions: PositionsPolicy = "hold"


class OverrideFile(BaseModel):
    """The JSON document of one override file."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    schema_name: Literal["stage4.scheduler.override"] = Field(alias="schema")
    schema_version: Literal["1.0"]
    timestamp: str
    action: Literal["disable_multi_strategy", "disable_decision_orchestrator"]
    reason: str = Field(min_length=1)
    ticket: str
    requested_by: str
    expires_at: str | None = None
    on_disable: OnDisable = OnDisable()
    forced: bool = False

    @field_validator("timestamp", "expires_at")
    @classmethod
    def _utc_second(cls, value: str | None) -> str | None:
        if value is not None and not TIMESTAMP_RE.match(value):
            raise ValueError("must look like YYYY-MM-DDTHH:MM:SSZ")
        return value

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @property
    def expires_ms(self) -> int | None:
        return None if self.expires_at is None else iso_to_ms(self.expires_at)

    def to_json(self) -> dict[str, object]:
        """The document as written: optional keys are omitted when absent."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


def validate_override(document: dict[str, Any]) -> OverrideFile | str:
    """The document as an OverrideFile, or the one-line problem with it."""
    try:
        return OverrideFile.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "document"
        if first["type"] == "missing":
            return f"missing field {where!r}"
        if first["type"] == "extra_forbidden":
            return f"unknown field {where!r}"
        if where == "schema":
            return f"unknown schema {first.get('input')!r}; expected {OVERRIDE_SCHEMA!r}"
        return f"field {where!r}: {first['msg']}"
