"""Frozen configuration models for config/core.yaml. Parsed once; never passed on as dicts."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from tradeops.config.market_data import MarketDataConfig

STRATEGY_NAMES: tuple[str, ...] = ("daily_trend", "mean_reversion", "volatility_target", "cross_exchange")
MANUAL_BUCKET = "manual"
PROFILE_NAMES: tuple[str, ...] = ("conservative", "balanced", "aggressive", "manual")

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
PositiveFloat = Annotated[float, Field(gt=0.0)]
NonNegativeFloat = Annotated[float, Field(ge=0.0)]
PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]

# Scopes a control API token may grant (the security package enforces them; defined here so the
# config can reject a misspelt or empty scope at load time).
TOKEN_SCOPES: tuple[str, ...] = (
    "runtime.schedule.read",
    "runtime.schedule.write",
    "runtime.override.write",
    "metrics.read",
    "audit.read",
    "portfolio.read",  # positions, balances, orders, fills, PnL, equity, load-test reports
    "incidents.read",
    "incidents.write",  # notes and closing (POST /v1/incidents/{id}/notes|close)
    "alerts.read",
    "alerts.write",  # create and expire Alertmanager silences (each one signed in the decision log)
)
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$")
_ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_HOST_RE = re.compile(r"^[A-Za-z0-9_.:\[\]-]{1,253}$")
_TOKEN_HASH_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


def _path_text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty (give a file or directory path)")
    if value != value.strip():
        raise ValueError("must not start or end with whitespace")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("must not contain control characters")
    return value


def _matching(pattern: re.Pattern[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(f"must be {what}")
        return value

    return AfterValidator(check)


def _scope(value: str) -> str:
    if value not in TOKEN_SCOPES:
        raise ValueError(f"unknown scope; valid: {', '.join(TOKEN_SCOPES)}")
    return value


def _url(value: str) -> str:
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError("must be an http:// or https:// URL")
    return value


def _state_url(value: str) -> str:
    if not re.match(r"^[a-z][a-z0-9+]*://\S*$", value):
        raise ValueError("must be a database URL such as postgresql+psycopg://user@127.0.0.1/tradeops")
    return value


PathText = Annotated[str, Field(max_length=4096), AfterValidator(_path_text)]
Name = Annotated[
    str, _matching(_NAME_RE, "1-128 letters, digits or _ . : @ - (starting with a letter or digit)")
]
EnvVarName = Annotated[str, _matching(_ENV_RE, "an environment variable name (letters, digits, _)")]
Host = Annotated[str, _matching(_HOST_RE, "a host name or IP address")]
Scope = Annotated[str, AfterValidator(_scope)]
TokenHash = Annotated[str, _matching(_TOKEN_HASH_RE, "sha256:<64 lowercase hex digits>")]
Url = Annotated[str, Field(max_length=2048), AfterValidator(_url)]
StateUrl = Annotated[str, Field(max_length=2048), AfterValidator(_state_url)]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


# --- risk --------------------------------------------------------------------------------------


class DataQuality(Frozen):
    max_gap_minutes: NonNegativeInt = 240
    min_ok_ratio: Fraction = 0.95


class RiskProfile(Frozen):
    max_daily_loss_pct: Fraction
    max_position_pct: Fraction
    target_volatility: NonNegativeFloat
    max_leverage: NonNegativeFloat
    stop_loss_atr_multiple: NonNegativeFloat
    max_open_positions: NonNegativeInt
    hard_drawdown_pct: Fraction
    data_quality: DataQuality = DataQuality()
    strategy_allocations: dict[str, Fraction]
    instrument_buckets: tuple[str, ...] = ()

    def allocation(self, strategy: str) -> float:
        return self.strategy_allocations.get(strategy, 0.0)


# --- strategies ----------------------------------------------------------------------------------


class DailyTrendParams(Frozen):
    fast_ma: PositiveInt = 25
    slow_ma: PositiveInt = 100
    breakout_lookback: PositiveInt = 55
    momentum_window: PositiveInt = 20
    atr_window: PositiveInt = 14
    atr_multiplier: PositiveFloat = 2.0
    min_trend_strength: float = 0.005
    min_momentum: float = 0.001


class MeanReversionParams(Frozen):
    lookback: PositiveInt = 96
    entry_zscore: PositiveFloat = 1.9
    exit_zscore: NonNegativeFloat = 0.35
    max_holding_bars: PositiveInt = 16
    volatility_cap: PositiveFloat = 0.035
    min_volume_usd: NonNegativeFloat = 250_000.0
    allow_short: bool = False


class VolatilityTargetParams(Frozen):
    target_volatility: PositiveFloat = 0.10
    lookback: PositiveInt = 60
    rebalance_threshold: Fraction = 0.08
    min_allocation: Fraction = 0.15
    max_allocation: Fraction = 0.95
    floor_volatility: PositiveFloat = 0.015
    bars_per_year: PositiveFloat = 105_120.0  # 5m bars; annualises realised volatility


class CrossExchangeParams(Frozen):
    primary_venue: str = "binance"
    secondary_venue: str = "bybit"
    spread_entry: PositiveFloat = 0.0018
    spread_exit: NonNegativeFloat = 0.0006
    max_open_seconds: PositiveInt = 180
    max_quote_age_ms: PositiveInt = 5_000


class StrategiesConfig(Frozen):
    daily_trend: DailyTrendParams = DailyTrendParams()
    mean_reversion: MeanReversionParams = MeanReversionParams()
    volatility_target: VolatilityTargetParams = VolatilityTargetParams()
    cross_exchange: CrossExchangeParams = CrossExchangeParams()


# --- runtime -------------------------------------------------------------------------------------


class ResourceLimits(Frozen):
    cpu_percent: PositiveFloat = 65.0
    memory_mb: PositiveFloat = 2048.0
    io_read_mb_s: PositiveFloat = 120.0
    io_write_mb_s: PositiveFloat = 80.0
    headroom_warning_threshold: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.8
    sustained_breach_minutes: PositiveFloat = 10.0
    sample_interval_seconds: PositiveFloat = 5.0


class Schedule(Frozen):
    strategy: str | None = None  # strategy kind; defaults to the schedule's name
    cadence_seconds: PositiveFloat
    max_drift_seconds: PositiveFloat
    warmup_bars: NonNegativeInt = 0
    risk_profile: str = "balanced"
    max_signals: PositiveInt = 4
    interval: str = "5m"
    venues: tuple[str, ...] = ("binance",)
    symbols: tuple[str, ...] = ("BTC/USDT",)


class SchedulerConfig(Frozen):
    schedules: dict[str, Schedule]

    def strategy_of(self, schedule_name: str) -> str:
        return self.schedules[schedule_name].strategy or schedule_name


class KillSwitchConfig(Frozen):
    poll_interval_ms: PositiveInt = 10
    cancel_open_orders: bool = True
    positions: Literal["hold", "reduce", "flatten"] = "hold"


class HeartbeatConfig(Frozen):
    interval_seconds: Annotated[float, Field(gt=0.0, le=300.0)] = 1.0
    stalled_after_intervals: Annotated[int, Field(ge=2, le=1000)] = 5

    @property
    def stale_after_seconds(self) -> float:
        return self.interval_seconds * self.stalled_after_intervals


class RuntimeConfig(Frozen):
    default_scheduler: str = "core_multi_pipeline"
    overrides_dir: PathText = "var/runtime/overrides"
    kill_switch: KillSwitchConfig = KillSwitchConfig()
    heartbeat: HeartbeatConfig = HeartbeatConfig()
    resource_limits: ResourceLimits = ResourceLimits()
    multi_strategy_schedulers: dict[str, SchedulerConfig]


# --- environments / paper exchange ---------------------------------------------------------------


class VenueConfig(Frozen):
    ccxt_id: str
    maker_fee: Fraction = 0.001
    taker_fee: Fraction = 0.001
    slippage_bps: NonNegativeFloat = 2.0
    latency_ms: NonNegativeInt = 50
    min_quantity: NonNegativeFloat = 0.00001
    quantity_step: NonNegativeFloat = 0.00001
    min_notional: NonNegativeFloat = 10.0
    max_volume_participation: Annotated[float, Field(gt=0.0, le=1.0)] = 0.1
    # --- live venues (mode: live); the paper fields above only drive the paper venue -----------
    sandbox: bool = False  # the venue's testnet through ccxt's sandbox mode
    url: str | None = None  # base URL override, e.g. the local simulator http://127.0.0.1:8765
    api_key_env: EnvVarName | None = None  # name of the env var holding the API key (never the key)
    secret_env: EnvVarName | None = None  # name of the env var holding the API secret
    request_timeout_ms: PositiveInt = 10_000
    max_retries: NonNegativeInt = 3  # retries of a temporary failure (429/5xx/timeout), with backoff
    # base of the listenKey user-data stream (ws://127.0.0.1:9765/ws for the simulator on 8765);
    # unset: fills of resting orders come from REST polls only
    user_stream_url: Annotated[str, Field(pattern=r"^wss?://\S+$")] | None = None
    # base of the public streams for ccxt.pro (ws://127.0.0.1:9765/ws); unset: user_stream_url's
    market_stream_url: Annotated[str, Field(pattern=r"^wss?://\S+$")] | None = None
    # the venue's cancel-all countdown (dead-man's switch), re-armed while the scheduler steps;
    # unset: the venue has none (Binance spot) and `tradeops watchdog` is the independent kill path
    dead_man_seconds: Annotated[float, Field(ge=1.0, le=600.0)] | None = None


class LiveLoopConfig(Frozen):
    """How a live account polls and reconciles (ignored by paper environments)."""

    reconcile_interval_seconds: Annotated[float, Field(ge=1.0, le=86_400.0)] = 60.0
    market_poll_ms: Annotated[int, Field(ge=100, le=600_000)] = 2_000  # closed candles by REST
    order_poll_ms: Annotated[int, Field(ge=100, le=600_000)] = 1_000  # fills of resting orders
    history_bars: Annotated[int, Field(ge=1, le=1_000)] = 500  # candles loaded before the first cycle
    heartbeat_ms: Annotated[int, Field(ge=100, le=600_000)] = 1_000  # scheduler heartbeat cadence
    # absolute difference per asset below which a venue balance agrees with ours (dust, fee rounding)
    balance_tolerance: dict[str, NonNegativeFloat] = Field(default_factory=dict)


class WatchdogConfig(Frozen):
    """`tradeops watchdog`: the kill path independent of the trading loop."""

    confirm_seconds: Annotated[float, Field(gt=0.0, le=3_600.0)] = 10.0
    stale_seconds: Annotated[float, Field(gt=0.0, le=3_600.0)] = 30.0
    poll_seconds: Annotated[float, Field(gt=0.0, le=60.0)] = 1.0


class EnvironmentConfig(Frozen):
    mode: Literal["paper", "live"] = "paper"
    risk_profile: str = "balanced"
    quote_asset: str = "USDT"
    initial_balances: dict[str, NonNegativeFloat] = Field(default_factory=lambda: {"USDT": 100_000.0})
    state_path: PathText = "var/state/tradeops.sqlite"
    state_url: StateUrl | None = (
        None  # e.g. postgresql+psycopg://user@127.0.0.1/tradeops; overrides state_path
    )
    decision_log: PathText | None = None  # default audit/decision_logs/<environment>.jsonl
    venues: dict[str, VenueConfig]
    confirm_live: bool = False  # required before a live environment may trade real money
    max_order_notional: PositiveFloat | None = None  # in the quote asset; required for mode: live
    live: LiveLoopConfig = LiveLoopConfig()
    market_data: MarketDataConfig = MarketDataConfig()  # live: REST polling, or websockets

    @model_validator(mode="after")
    def _live_needs_limits_and_key_names(self) -> EnvironmentConfig:
        if self.mode != "live":
            return self
        if self.max_order_notional is None:
            raise ValueError("mode: live needs max_order_notional (largest order, in the quote asset)")
        for name, venue in self.venues.items():
            if not venue.api_key_env or not venue.secret_env:
                raise ValueError(
                    f"mode: live: venues.{name} needs api_key_env and secret_env "
                    "(names of the env vars holding the key and secret)"
                )
        return self


# --- decision log --------------------------------------------------------------------------------


class DecisionLogConfig(Frozen):
    directory: PathText = "audit/decision_logs"
    operations_log: PathText = "audit/decision_logs/stage4.jsonl"
    hash_algorithm: Literal["sha256", "sha384"] = "sha256"
    key_id: Name = "tradeops-ops"  # runtime and operator entries of an environment share it
    # Read when no --hmac-key*/TRADEOPS_DECISION_LOG_KEY* is given; paper setups create it for new logs.
    key_file: PathText = "var/secrets/decision_log.key"
    fsync_mode: Literal["group", "each"] = "group"
    group_commit_entries: PositiveInt = 100
    group_commit_ms: PositiveFloat = 5.0
    max_line_bytes: Annotated[int, Field(ge=1024, le=64 * 1024 * 1024)] = 1024 * 1024
    anchor_interval_s: PositiveFloat = 1.0


# --- control API / security ----------------------------------------------------------------------


class TlsConfig(Frozen):
    certificate: PathText = "var/secrets/tls/server.pem"
    private_key: PathText = "var/secrets/tls/server.key"
    client_ca: PathText = "var/secrets/tls/ca.pem"
    require_client_cert: bool = True


class ApiToken(Frozen):
    id: Name
    scopes: Annotated[tuple[Scope, ...], Field(min_length=1)]
    env: EnvVarName | None = None  # name of the env var holding the secret
    hash: TokenHash | None = None  # "sha256:<hex>" of the secret
    value: str | None = None  # inline secrets are rejected by the security audit


class ControlApiLimits(Frozen):
    """Bounds on what one client may send (enforced by the server, see docs/security.md)."""

    max_header_bytes: Annotated[int, Field(ge=1024, le=1_048_576)] = 16_384
    max_header_count: Annotated[int, Field(ge=8, le=1000)] = 100
    max_body_bytes: Annotated[int, Field(ge=1024, le=16_777_216)] = 65_536
    header_timeout_seconds: Annotated[float, Field(gt=0.0, le=300.0)] = 10.0
    body_timeout_seconds: Annotated[float, Field(gt=0.0, le=600.0)] = 30.0
    keep_alive_seconds: Annotated[int, Field(ge=1, le=300)] = 5
    max_connections: Annotated[int, Field(ge=1, le=100_000)] = 256


class SecurityConfig(Frozen):
    """Strength the security audit demands (weaker is an error)."""

    min_token_entropy_bits: Annotated[int, Field(ge=64, le=1024)] = 128
    min_hmac_key_bytes: Annotated[int, Field(ge=16, le=1024)] = 32


class ControlApiConfig(Frozen):
    host: Host = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8743
    # CPU niceness of `tradeops api serve`: under load the API slows down, never the trading loop.
    nice: Annotated[int, Field(ge=0, le=19)] = 10
    tls: TlsConfig = TlsConfig()
    tokens: tuple[ApiToken, ...] = ()
    # Every write needs a non-blank reason; with require_ticket also a non-blank ticket.
    require_ticket: bool = False
    limits: ControlApiLimits = ControlApiLimits()

    @field_validator("tokens")
    @classmethod
    def _unique_token_ids(cls, tokens: tuple[ApiToken, ...]) -> tuple[ApiToken, ...]:
        ids = [t.id for t in tokens]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate token id(s) {', '.join(duplicates)}; each token needs its own id")
        return tokens


# --- observability / incidents -------------------------------------------------------------------


class MetricsConfig(Frozen):
    enabled: bool = True
    host: Host = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 9464
    token_env: EnvVarName | None = None  # env var holding the bearer token scrapes must send
    tls: TlsConfig | None = None  # serve https (client certificate required per tls.require_client_cert)


class AlertmanagerConfig(Frozen):
    url: Url | None = None
    stage4_matchers: dict[str, str] = Field(default_factory=lambda: {"stage": "stage4"})
    default_silence_duration: str = "2h"


class PrometheusConfig(Frozen):
    url: Url | None = None  # where incident bundles draw their dashboard snapshots from
    scrape_interval_seconds: PositiveFloat = 15.0  # of the tradeops job ($__rate_interval)


class ObservabilityConfig(Frozen):
    metrics: MetricsConfig = MetricsConfig()
    alertmanager: AlertmanagerConfig = AlertmanagerConfig()
    prometheus: PrometheusConfig = PrometheusConfig()


class TriggerConfig(Frozen):
    enabled: bool = True
    action: Literal["alert", "disable"] = "alert"


class PnlDivergenceTrigger(TriggerConfig):
    multiple_of_daily_budget: PositiveFloat = 3.0


class ExchangeFailureTrigger(TriggerConfig):
    max_consecutive_errors: PositiveInt = 5
    no_fill_minutes: PositiveFloat = 60.0
    latency_spike_ms: PositiveFloat = 2_000.0
    error_window_minutes: PositiveFloat = 5.0  # errors counted over this trailing window


class ResourceBreachTrigger(TriggerConfig):
    sustained_minutes: PositiveFloat = 10.0


class IncidentTriggers(Frozen):
    pnl_divergence: PnlDivergenceTrigger = PnlDivergenceTrigger()
    exchange_failures: ExchangeFailureTrigger = ExchangeFailureTrigger()
    resource_breach: ResourceBreachTrigger = ResourceBreachTrigger()


class IncidentsConfig(Frozen):
    directory: PathText = "logs/incidents"
    triggers: IncidentTriggers = IncidentTriggers()


# --- cluster -------------------------------------------------------------------------------------


def _nats_url(value: str) -> str:
    if not re.match(r"^(nats|tls)://[^\s/]+$", value):
        raise ValueError("must be a NATS URL such as nats://127.0.0.1:4222")
    return value


NatsUrl = Annotated[str, Field(max_length=2048), AfterValidator(_nats_url)]


class ClusterConfig(Frozen):
    """Several hosts, one active scheduler per environment: a JetStream KV lease with fencing,
    overrides in a KV bucket and the decision log mirrored to a stream (docs/deploy/cluster.md)."""

    nats_url: NatsUrl
    host_id: Name
    lease_ttl_seconds: Annotated[float, Field(ge=1.0, le=300.0)] = 10.0
    max_disconnect_seconds: Annotated[float, Field(gt=0.0, le=3_600.0)] = 5.0
    bucket_prefix: Annotated[str, _matching(_ENV_RE, "letters, digits and _ (a JetStream bucket name)")] = (
        "tradeops"
    )
    mirror_ack_timeout_seconds: Annotated[float, Field(gt=0.0, le=60.0)] = 2.0


# --- root ----------------------------------------------------------------------------------------


class AppConfig(Frozen):
    schema_version: Literal[1] = 1
    risk_profiles: dict[str, RiskProfile]
    instrument_buckets: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    strategies: StrategiesConfig = StrategiesConfig()
    runtime: RuntimeConfig
    environments: dict[str, EnvironmentConfig]
    decision_log: DecisionLogConfig = DecisionLogConfig()
    control_api: ControlApiConfig = ControlApiConfig()
    security: SecurityConfig = SecurityConfig()
    observability: ObservabilityConfig = ObservabilityConfig()
    incidents: IncidentsConfig = IncidentsConfig()
    watchdog: WatchdogConfig = WatchdogConfig()
    cluster: ClusterConfig | None = None  # several hosts (needs a PostgreSQL state_url)

    def scheduler(self, name: str | None = None) -> SchedulerConfig:
        return self.runtime.multi_strategy_schedulers[name or self.runtime.default_scheduler]

    def environment(self, name: str) -> EnvironmentConfig:
        return self.environments[name]

    def decision_log_path(self, environment: str) -> str:
        env = self.environments.get(environment)
        if env is not None and env.decision_log:
            return env.decision_log
        return f"{self.decision_log.directory}/{environment}.jsonl"
