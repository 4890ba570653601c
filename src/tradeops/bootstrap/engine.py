"""Build a runnable runtime (engine + scheduler + adapters) from the configuration."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tradeops.bootstrap.adapters import Adapters
from tradeops.bootstrap.decision_log_wiring import audited, open_sink, writer_opener
from tradeops.bootstrap.kill_switch_wiring import open_gate
from tradeops.bootstrap.live_start import booked_trade_ids, live_opening, start_live
from tradeops.config.load import environment_of, load_config
from tradeops.config.models import AppConfig, EnvironmentConfig
from tradeops.domain.errors import Fatal, UserInputError
from tradeops.domain.money import to_decimal
from tradeops.exchanges.faults import FaultSpec, FaultyExchange
from tradeops.exchanges.paper import PaperExchange
from tradeops.marketdata.datasets import load_dataset
from tradeops.marketdata.loaders import CandleSeries
from tradeops.marketdata.series_store import SeriesStore
from tradeops.marketdata.synthetic import synthetic_market
from tradeops.runtime.clock import ReplayClock, WallClock
from tradeops.runtime.engine import EngineSettings, StrategySlot, TradingEngine
from tradeops.runtime.live_market import LiveMarket
from tradeops.runtime.portfolio import Portfolio
from tradeops.runtime.ports import DecisionSink, OrderGate, StateStore
from tradeops.runtime.scheduler import Scheduler
from tradeops.runtime.stats import RuntimeStats
from tradeops.strategies.registry import build_strategy

if TYPE_CHECKING:
    from tradeops.bootstrap.account import Account, RunPlan
    from tradeops.bootstrap.live import LiveParts


@dataclass
class RunOptions:
    environment: str = "binance_paper"
    config_path: Path = Path("config/core.yaml")
    data: str | None = None  # a candle file or directory; None means the synthetic market
    market: list[CandleSeries] | None = None  # already loaded series (benchmarks, tests)
    synthetic_bars: int = 3000
    from_ms: int | None = None
    to_ms: int | None = None
    speed: float | None = None  # None: as fast as possible (replay) unless wall_clock
    wall_clock: bool = False
    strategies: Sequence[str] | None = None  # restrict to these schedules
    state: str = (
        "environment"  # "environment" (the account, or var/runs/<id>/), "memory", "none", or a SQLite path
    )
    run_kind: str | None = (
        None  # account | backtest | smoke | load-test; None: derived from data/window/state
    )
    run_id: str | None = None
    decision_log: bool = True
    decision_log_path: str | None = None  # default: the environment's log
    # A SigningKey to sign with instead of the configured one (benchmarks: their own key, no env).
    signing_key: Any = None
    strategy_params: dict[str, dict[str, Any]] | None = None  # per-strategy parameter overrides
    kill_switch: bool = True
    metrics: bool = False
    metrics_port: int | None = None  # overrides observability.metrics.port
    faults: str | None = None  # e.g. "errors=0.5,latency_ms=2000" (drills and alert tests)
    scheduler: str | None = None
    seed: int = 7
    cluster: Any = None  # this host's leadership term in cluster mode (bootstrap.cluster.ClusterTerm)


@dataclass
class Runtime:
    cfg: AppConfig
    options: RunOptions
    engine: TradingEngine
    scheduler: Scheduler
    series: SeriesStore
    stats: RuntimeStats
    clock: Any
    sink: DecisionSink
    store: StateStore | None
    end_ms: int = 0  # close time of the last bar loaded
    metrics_port: int | None = None
    closers: list[Any] = field(default_factory=list)
    plan: RunPlan | None = None
    halt_detail: str | None = None  # one line: why this run refuses to trade (state_log_mismatch)
    resumed_from_ms: int | None = None  # the replay cursor an account run continued after
    live_loop: Any = None  # a live run's heartbeat and reconcile loop (bootstrap.live_start)

    @property
    def run_id(self) -> str:
        return self.plan.run_id if self.plan else ""

    @property
    def kind(self) -> str:
        return self.plan.kind if self.plan else "smoke"

    def close(self) -> None:
        for closer in reversed(self.closers):
            closer()
        self.closers.clear()


def _fill_series(
    cfg: AppConfig,
    opts: RunOptions,
    venues: set[str],
    symbols: set[str],
    interval: str,
    series_store: SeriesStore,
) -> tuple[int, int]:
    """Preload the replayed market; (first bar open, last bar close)."""
    first_ts: int | None = None
    end_ms = 0
    for candles in _load_market(cfg, opts, venues, symbols, interval):
        candles = candles.between(opts.from_ms, None if opts.to_ms is None else opts.to_ms + 1)
        if len(candles) == 0:
            continue
        series_store.add_candles(candles)
        first_ts = candles.start_ms if first_ts is None else min(first_ts, candles.start_ms)
        end_ms = max(end_ms, candles.end_ms)
    if first_ts is None:
        raise UserInputError("no market data in the selected window (--from/--to)")
    return first_ts, end_ms


def _live_window(env_name: str, live: LiveParts, series_store: SeriesStore) -> tuple[int, int]:
    bars = [b for v, s in live.instruments if (b := series_store.last_bar(v, s)) is not None]
    if not bars:
        raise Fatal(f"environments.{env_name}: the venues returned no closed candles")
    return min(b.ts for b in bars), max(b.ts for b in bars) + live.interval_ms


def _load_market(
    cfg: AppConfig, opts: RunOptions, venues: set[str], symbols: set[str], interval: str
) -> list[CandleSeries]:
    if opts.market is not None:
        return opts.market
    if opts.cluster is not None and opts.cluster.market is not None:
        return list(opts.cluster.market)  # a cluster follower loaded it while following
    if opts.data is None:
        return synthetic_market(
            sorted(symbols), sorted(venues), opts.synthetic_bars, interval, seed=opts.seed
        )
    series = load_dataset(opts.data, symbols=sorted(symbols), interval=interval)
    if not series:
        raise UserInputError(f"--data {opts.data}: no {interval} candles for {', '.join(sorted(symbols))}")
    return series


def _environment(cfg: AppConfig, opts: RunOptions) -> EnvironmentConfig:
    env = environment_of(cfg, opts.environment)
    if env.mode == "live":
        from tradeops.bootstrap.live import refuse_unready_live

        refuse_unready_live(opts.environment, env, os.environ)  # keys, confirm_live: named first
    if env.mode == "live" and (opts.state != "environment" or not opts.decision_log or opts.data):
        raise UserInputError(
            f"--environment {opts.environment} is mode: live: it trades its own account "
            "(no --state/--data/--no-decision-log; those are for paper runs)"
        )
    return env


def build_runtime(
    opts: RunOptions, cfg: AppConfig | None = None, adapters: Adapters | None = None
) -> Runtime:
    """The engine, the scheduler and their adapters for `opts` (`adapters`: fakes a test hands in)."""
    cfg = cfg or load_config(opts.config_path)
    adapters = adapters or Adapters()
    env = _environment(cfg, opts)
    sched_cfg = cfg.scheduler(opts.scheduler)
    names = list(opts.strategies or sched_cfg.schedules)
    unknown = [n for n in names if n not in sched_cfg.schedules]
    if unknown:
        raise UserInputError(
            f"--strategy {unknown[0]}: not scheduled; valid: {', '.join(sched_cfg.schedules)}"
        )
    schedules = {n: sched_cfg.schedules[n] for n in names}
    venues = {v for s in schedules.values() for v in s.venues}
    symbols = {sym for s in schedules.values() for sym in s.symbols}
    missing_venues = venues - set(env.venues)
    if missing_venues:
        raise UserInputError(
            f"environments.{opts.environment}.venues: add {', '.join(sorted(missing_venues))}"
        )
    interval = next(iter(schedules.values())).interval
    series_store: Any = adapters.market if adapters.market is not None else SeriesStore()
    live: LiveParts | None = None
    if adapters.market is not None:
        first_ts = end_ms = 0
    elif env.mode == "live":  # never paper-trade a live environment
        from tradeops.bootstrap.live import open_live

        live = open_live(opts.environment, env, schedules, series_store, os.environ)
        first_ts, end_ms = _live_window(opts.environment, live, series_store)
    else:
        first_ts, end_ms = _fill_series(cfg, opts, venues, symbols, interval, series_store)
    params = cfg.strategies
    if opts.strategy_params:
        params = params.model_copy(
            update={k: getattr(params, k).model_copy(update=v) for k, v in opts.strategy_params.items()}
        )
    given = adapters.strategies or {}
    strategies = {n: given.get(n) or build_strategy(sched_cfg.strategy_of(n), params) for n in names}
    slots = [
        StrategySlot(n, strategies[n], schedules[n], cfg.risk_profiles[schedules[n].risk_profile])
        for n in names
    ]
    # Start once the longest warmup is available, so the first step already has full history.
    warmup = max(max(s.warmup_bars, strategies[n].required_bars()) for n, s in schedules.items())
    start_ms = 0
    if adapters.market is None:
        start_ms = first_ts + (warmup + 1) * series_store.interval_ms(*series_store.instruments()[0])
    from tradeops.bootstrap.account import new_run_id, open_account, plan_run, run_kind

    closers: list[Any] = []
    kind = opts.run_kind or run_kind(opts.data, opts.from_ms, opts.to_ms, opts.state)
    plan = plan_run(
        kind=kind,
        run_id=opts.run_id or new_run_id(),
        state=opts.state if opts.decision_log else ("memory" if opts.state != "none" else "none"),
        account_store=env.state_url or f"sqlite:///{env.state_path}",
        account_log=cfg.decision_log_path(opts.environment),
        decision_log_path=opts.decision_log_path,
    )
    account: Account | None = None
    store: StateStore | None = None
    sink: DecisionSink
    if adapters.injects_log:
        store = adapters.store
        sink = adapters.sink if adapters.sink is not None else open_sink(cfg, opts, env, plan, closers)
    elif plan.store is not None:
        account = open_account(
            plan,
            writer_opener(cfg, opts, env, plan.log_path),
            stage=opts.environment,
            step_ms=lambda: series_store.now_ms,
            fence=opts.cluster.fence if opts.cluster else None,
            durable_hook=opts.cluster.durable_hook if opts.cluster else None,
            warm=opts.cluster.warm_start() if opts.cluster else None,
        )
        closers.append(account.store.close)
        closers.append(account.sink.close)
        store, sink = account.store, account.sink
    else:
        if opts.state == "memory":
            from tradeops.persistence.sql_store import SqlStateStore

            store = SqlStateStore("sqlite://")
            closers.append(store.close)
        sink = open_sink(cfg, opts, env, plan, closers)
    try:
        return _assemble(
            cfg,
            opts,
            env,
            slots,
            series_store,
            start_ms,
            end_ms,
            plan,
            account,
            store,
            sink,
            closers,
            live,
            adapters,
        )
    except BaseException:
        for closer in reversed(closers):
            closer()
        raise


def _attach_heartbeat(cfg: AppConfig, runtime: Runtime, store: Any) -> None:
    """An account run publishes its heartbeat to the account's store (what the operator tools read)."""
    from tradeops.persistence.heartbeat_store import StoreHeartbeatSink
    from tradeops.runtime.heartbeat import HeartbeatPublisher

    settings = cfg.runtime.heartbeat
    interval_s = settings.interval_seconds
    env = cfg.environments[runtime.options.environment]
    if env.mode == "live":  # the watchdog's cadence for a live account (environments.<e>.live)
        interval_s = min(interval_s, env.live.heartbeat_ms / 1000)
    publisher = HeartbeatPublisher(
        runtime.stats,
        StoreHeartbeatSink(store),
        WallClock().now_ms,
        interval_s=interval_s,
        stale_after_s=settings.stale_after_seconds,
        run_id=runtime.run_id,
    )
    runtime.scheduler.heartbeat = publisher
    runtime.closers.append(publisher.stopped)  # closers run last-first: before the store closes


def _venue_egress(
    env: EnvironmentConfig, live: LiveParts | None, account: Account | None, clock: Any, series: SeriesStore
) -> Any:
    """The Exchange the engine sends to: the live venues (their restored books), or the paper venue."""
    if live is not None:
        if account is not None and account.mismatch is None:
            live.router.restore(account.store.load_open_orders(), booked_trade_ids(account))
        return live.router
    paper = PaperExchange(env.venues, clock.now_ms, series.interval_ms, env.quote_asset)
    if account is not None and account.mismatch is None:
        paper.restore(account.store.load_open_orders(), int(account.meta.get("paper_order_seq", "0")))
    return paper


def _egress(
    opts: RunOptions,
    env: EnvironmentConfig,
    live: LiveParts | None,
    account: Account | None,
    clock: Any,
    series: Any,
    adapters: Adapters,
) -> Any:
    """The injected venue egress, else bootstrap's; wrapped in the fault injector with --faults."""
    if adapters.exchange is not None:
        exchange = adapters.exchange(clock.now_ms, series.interval_ms)
    else:
        exchange = _venue_egress(env, live, account, clock, series)
    if opts.faults:
        exchange = FaultyExchange(exchange, FaultSpec.parse(opts.faults), seed=opts.seed)
    return exchange


def _clustered(opts: RunOptions, gate: OrderGate | None) -> OrderGate | None:
    """Cluster mode: the lease and the cluster's override bucket gate every order first."""
    return gate if opts.cluster is None else opts.cluster.wrap_gate(gate)


def _cluster_settings(opts: RunOptions) -> dict[str, Any]:
    """Cluster mode: the epoch in every client order id; a cursor checkpoint every step (a new
    leader resumes after the last bar the old one processed)."""
    if opts.cluster is None:
        return {}
    return {"order_id_tag": opts.cluster.order_tag, "checkpoint_every_steps": 1}


def _assemble(
    cfg: AppConfig,
    opts: RunOptions,
    env: EnvironmentConfig,
    slots: list[StrategySlot],
    series_store: SeriesStore,
    start_ms: int,
    end_ms: int,
    plan: RunPlan,
    account: Account | None,
    store: StateStore | None,
    sink: DecisionSink,
    closers: list[Any],
    live: LiveParts | None = None,
    adapters: Adapters | None = None,
) -> Runtime:
    adapters = adapters or Adapters()
    from tradeops.bootstrap.resume import MarketIdentity, market_identity, resume_point, start_account

    interval = next(iter(slots)).schedule.interval
    market: MarketIdentity = (
        market_identity(opts, interval) if live is None else {"source": "live", "interval": interval}
    )
    resume = resume_point(account, market) if account is not None and account.mismatch is None else 0
    if resume:
        series_store.advance_to(resume)  # bars up to the cursor were processed before: history only
        start_ms = max(start_ms, resume + 1)
    clock: Any = adapters.clock or (
        WallClock() if opts.wall_clock or live else ReplayClock(start_ms, opts.speed)
    )
    stats = RuntimeStats(environment=opts.environment, started_ms=WallClock().now_ms())
    quote = env.quote_asset
    initial = to_decimal(env.initial_balances[quote])
    balances = store.load_balances() if store else {}
    if live is not None:
        initial = live_opening(live, account, balances)
    fees = account.store.fees_by_strategy() if account is not None else None
    portfolio = Portfolio.restore(quote, balances, store.load_positions() if store else [], initial, fees)
    for venue, symbol in series_store.instruments():
        bar = series_store.last_bar(venue, symbol)
        if bar is not None:
            portfolio.mark(venue, symbol, bar.close)
    portfolio.initial_equity = portfolio.equity()  # the run starts from what its store holds
    if account is not None:
        portfolio.peak_equity = max(portfolio.equity(), to_decimal(account.meta.get("peak_equity", "0")))
    exchange = _egress(opts, env, live, account, clock, series_store, adapters)
    gate = adapters.gate
    if gate is None and opts.kill_switch:
        gate = open_gate(cfg, env, store if plan.store else None, closers)
    gate = audited(_clustered(opts, gate), sink, stats, opts.environment)
    settings = EngineSettings(
        environment=opts.environment,
        account_profile=cfg.risk_profiles[env.risk_profile],
        venues=env.venues,
        positions_on_kill=cfg.runtime.kill_switch.positions,
        cancel_on_disable=cfg.runtime.kill_switch.cancel_open_orders,
        order_seq_start=int(account.meta.get("client_order_seq", "0")) + 1 if account else 1,
        live=live is not None,
        **_cluster_settings(opts),
    )
    engine = TradingEngine(settings, slots, series_store, exchange, portfolio, sink, stats, gate, store)
    revealing: Any = series_store
    if live is not None:
        revealing = LiveMarket(
            series_store,
            live.sources,
            live.instruments,
            live.interval,
            live.interval_ms,
            clock.now_ms,
            stats,
            env.live.market_poll_ms,
        )
    scheduler = Scheduler(engine, revealing, clock)
    scheduler.guard = opts.cluster.guard if opts.cluster else None
    runtime = Runtime(
        cfg=cfg,
        options=opts,
        engine=engine,
        scheduler=scheduler,
        series=series_store,
        stats=stats,
        clock=clock,
        sink=sink,
        store=store,
        end_ms=end_ms,
        closers=closers,
        plan=plan,
    )
    if account is not None:
        start_account(runtime, account, market, balances, initial, resume)
        _attach_heartbeat(cfg, runtime, account.store)
    if live is not None:
        start_live(runtime, env, live, account)
    if opts.metrics and cfg.observability.metrics.enabled:
        from tradeops.observability.metrics import start_metrics_server

        metrics_cfg = cfg.observability.metrics
        if opts.metrics_port is not None:
            metrics_cfg = metrics_cfg.model_copy(update={"port": opts.metrics_port})
        server = start_metrics_server(stats, metrics_cfg, cfg.runtime.resource_limits)
        runtime.metrics_port = server.port
        print(f"metrics: http://{metrics_cfg.host}:{server.port}/metrics", file=sys.stderr)
        closers.append(server.stop)
    return runtime
