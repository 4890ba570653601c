"""Follow a running runtime's metrics for a bounded window and collect the alerts that fired in it.

Alerts come from one source, in this order of preference: Alertmanager (`GET /api/v2/alerts`,
Stage4 matchers, "new" when `startsAt` is inside the window), Prometheus (`ALERTS` series, "new"
when not firing at the first poll), or every rule evaluated locally on the scraped series
(`local_rules`). The loop is bounded: it stops at the deadline, and after at most
duration/interval + 2 polls whatever the clock does.

`TRADEOPS_TIME_SCALE` (drills and training) runs the window faster: with 60, `--duration 15m`
takes 15 s of wall time and `for:` durations of local rules shrink alike. Alertmanager and
Prometheus keep their own real-time clocks.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from tradeops.domain.errors import TradeopsError, UserInputError
from tradeops.observability.alertmanager import AlertmanagerClient, Matcher, parse_time
from tradeops.observability.local_rules import LocalEvaluator
from tradeops.observability.rules import SAFETY_STAGE
from tradeops.observability.scrape import Samples, ScrapeError, Scraper

TIME_SCALE_ENV = "TRADEOPS_TIME_SCALE"
MIN_WALL_INTERVAL_S = 0.05
SCRAPE_JOB = "tradeops"


class WatchClock(Protocol):
    def wall(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def wall(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def time_scale(environ: Mapping[str, str]) -> float:
    raw = environ.get(TIME_SCALE_ENV, "").strip()
    if not raw:
        return 1.0
    try:
        scale = float(raw)
    except ValueError:
        scale = math.nan
    if not math.isfinite(scale) or scale <= 0:
        raise UserInputError(f"{TIME_SCALE_ENV}={raw!r}: give a positive number (e.g. 60 runs 15m in 15s)")
    return scale


def iso(wall: float) -> str:
    return datetime.fromtimestamp(wall, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class AlertSource(Protocol):
    kind: str

    def poll(self, samples: Samples | None, at: float, wall: float) -> list[dict[str, Any]]: ...

    def alerts(self) -> list[dict[str, Any]]: ...

    def describe(self) -> dict[str, Any]: ...


@dataclass
class LocalSource:
    evaluator: LocalEvaluator
    rules_file: str
    kind: str = "local-rules"

    def poll(self, samples: Samples | None, at: float, wall: float) -> list[dict[str, Any]]:
        return self.evaluator.observe(samples or {}, at, wall, iso(wall))

    def alerts(self) -> list[dict[str, Any]]:
        return list(self.evaluator.fired.values())

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "rules_file": self.rules_file,
            "evaluated": self.evaluator.evaluated,
            "not_evaluated": self.evaluator.not_evaluated,
            "evaluation_errors": dict(self.evaluator.errors),
            "short_history": self.evaluator.short_history,
            "note": "every rule evaluated on the watcher's own scrapes (PromQL subset, for: durations); "
            "rules in short_history reach back before the window and saw only the watched part",
        }


def watched(labels: dict[str, str], matchers: tuple[Matcher, ...]) -> bool:
    """The Stage4 alerts (the configured matchers) and every safety alert (stage=safety), which
    carries another stage label precisely so that the Stage4 silence cannot mute it."""
    return labels.get("stage") == SAFETY_STAGE or all(m.matches(labels) for m in matchers)


@dataclass
class AlertmanagerSource:
    client: AlertmanagerClient
    matchers: tuple[Matcher, ...]
    window_start: float
    kind: str = "alertmanager"
    errors: list[str] = field(default_factory=list)
    _seen: dict[str, dict[str, Any]] = field(default_factory=dict)

    def poll(self, samples: Samples | None, at: float, wall: float) -> list[dict[str, Any]]:
        try:
            current = self.client.alerts()
        except TradeopsError as exc:
            self.errors.append(str(exc))
            return []
        started, present = [], set()
        for raw in current:
            labels = {str(k): str(v) for k, v in (raw.get("labels") or {}).items()}
            if not watched(labels, self.matchers):
                continue
            key = str(raw.get("fingerprint") or sorted(labels.items()))
            present.add(key)
            status = raw.get("status") or {}
            starts = parse_time(str(raw.get("startsAt"))).timestamp()
            entry = {
                "alertname": labels.get("alertname", ""),
                "severity": labels.get("severity", ""),
                "labels": labels,
                "summary": str((raw.get("annotations") or {}).get("summary", "")),
                "state": "firing" if status.get("state") == "active" else str(status.get("state", "")),
                "starts_at": str(raw.get("startsAt")),
                "new": starts >= self.window_start,
                "silenced": bool(status.get("silencedBy")),
                "source": self.kind,
            }
            if key not in self._seen:
                started.append(entry)
            self._seen[key] = entry
        for key, entry in self._seen.items():
            if key not in present:
                entry["state"] = "resolved"
        return started

    def alerts(self) -> list[dict[str, Any]]:
        return list(self._seen.values())

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "url": self.client.base_url,
            "matchers": [str(m) for m in self.matchers],
            "errors": self.errors[:5],
        }


@dataclass
class PrometheusSource:
    base_url: str
    matchers: tuple[Matcher, ...]
    kind: str = "prometheus"
    errors: list[str] = field(default_factory=list)
    _seen: dict[str, dict[str, Any]] = field(default_factory=dict)
    _polls: int = 0

    def poll(self, samples: Samples | None, at: float, wall: float) -> list[dict[str, Any]]:
        first = self._polls == 0
        self._polls += 1
        try:
            response = httpx.get(
                f"{self.base_url.rstrip('/')}/api/v1/query",
                params={"query": 'ALERTS{alertstate="firing"}'},
                timeout=5.0,
            )
            response.raise_for_status()
            result = response.json()["data"]["result"]
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            if first:
                raise UserInputError(f"--prometheus-url {self.base_url}: query failed ({exc})") from exc
            self.errors.append(str(exc))
            return []
        started, present = [], set()
        for series in result:
            labels = {k: v for k, v in series["metric"].items() if k not in ("alertstate", "__name__")}
            if not watched(labels, self.matchers):
                continue
            key = str(sorted(labels.items()))
            present.add(key)
            if key not in self._seen:
                entry = {
                    "alertname": labels.get("alertname", ""),
                    "severity": labels.get("severity", ""),
                    "labels": labels,
                    "summary": "",
                    "state": "firing",
                    "starts_at": iso(wall),
                    "new": not first,
                    "silenced": False,
                    "source": self.kind,
                }
                self._seen[key] = entry
                started.append(entry)
            self._seen[key]["state"] = "firing"
        for key, entry in self._seen.items():
            if key not in present:
                entry["state"] = "resolved"
        return started

    def alerts(self) -> list[dict[str, Any]]:
        return list(self._seen.values())

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "url": self.base_url, "errors": self.errors[:5]}


@dataclass(frozen=True, slots=True)
class WatchSettings:
    url: str
    duration_s: float
    interval_s: float
    time_scale: float = 1.0

    @property
    def wall_interval_s(self) -> float:
        return max(self.interval_s / self.time_scale, MIN_WALL_INTERVAL_S)

    @property
    def max_polls(self) -> int:
        return math.ceil(self.duration_s / self.interval_s) + 2


@dataclass
class PollView:
    polls: int
    watch_elapsed_s: float
    samples: Samples
    error: str | None
    started: list[dict[str, Any]]
    alerts: list[dict[str, Any]]


@dataclass
class WatchResult:
    started_wall: float
    ended_wall: float
    first: Samples
    last: Samples
    polls: int
    failures: int
    errors: list[str]
    alerts: list[dict[str, Any]]


def _with_up(samples: Samples | None, url: str) -> Samples:
    """The watcher's own `up` series, like Prometheus records one per scrape."""
    labels = (("instance", urlsplit(url).netloc), ("job", SCRAPE_JOB))
    out = dict(samples or {})
    out["up"] = {labels: 1.0 if samples is not None else 0.0}
    return out


def run_watch(
    scraper: Scraper,
    source: AlertSource,
    settings: WatchSettings,
    clock: WatchClock,
    on_poll: Callable[[PollView], None] = lambda view: None,
) -> WatchResult:
    """Poll until the window ends. An unreachable endpoint at the first poll is a UserInputError."""
    started = clock.wall()
    deadline = started + settings.duration_s / settings.time_scale
    try:
        first = scraper.scrape()
    except ScrapeError as exc:
        raise UserInputError(f"cannot watch: {exc}; is the runtime running with metrics on?") from exc
    samples: Samples | None = first
    last, polls, failures, errors = first, 0, 0, []
    while True:
        now = clock.wall()
        polls += 1
        watch_elapsed = (now - started) * settings.time_scale
        if polls > 1:
            try:
                samples = scraper.scrape()
                last = samples
            except ScrapeError as exc:
                samples, failures = None, failures + 1
                errors.append(f"{iso(now)} {exc}")
        new = source.poll(_with_up(samples, settings.url), watch_elapsed, now)
        on_poll(
            PollView(
                polls, watch_elapsed, last, errors[-1] if samples is None else None, new, source.alerts()
            )
        )
        remaining = deadline - clock.wall()
        if remaining <= 0 or polls >= settings.max_polls:
            break
        clock.sleep(min(settings.wall_interval_s, remaining))
    return WatchResult(started, clock.wall(), first, last, polls, failures, errors[:20], source.alerts())
