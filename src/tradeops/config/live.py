"""What a live environment needs before it may start: keys in the environment, confirmation for
real money. Pure: the process environment is passed in, nothing is read or printed here."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from tradeops.config.models import AppConfig, EnvironmentConfig, VenueConfig

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def is_local_url(url: str | None) -> bool:
    """True when `url` names a loopback host (the local exchange simulator)."""
    return url is not None and (urlsplit(url).hostname or "") in LOOPBACK_HOSTS


def is_real_money(venue: VenueConfig) -> bool:
    """A venue that is neither a testnet (sandbox) nor the local simulator."""
    return not venue.sandbox and not is_local_url(venue.url)


def missing_keys(name: str, env: EnvironmentConfig, environ: Mapping[str, str]) -> list[str]:
    """One line per key env var a live environment names but the process environment lacks."""
    out = []
    for venue_name, venue in env.venues.items():
        for field in ("api_key_env", "secret_env"):
            var = getattr(venue, field)
            if var and not environ.get(var):
                out.append(f"environments.{name}.venues.{venue_name}.{field}: env var {var} is not set")
    return out


def live_problems(name: str, env: EnvironmentConfig, environ: Mapping[str, str]) -> list[str]:
    """Why the live environment `name` may not start (empty when it may)."""
    problems = missing_keys(name, env, environ)
    real = sorted(v for v, cfg in env.venues.items() if is_real_money(cfg))
    if real and not env.confirm_live:
        problems.append(
            f"environments.{name}: venues {', '.join(real)} trade real money; "
            "set confirm_live: true to allow it"
        )
    return problems


def paper_stand_in(cfg: AppConfig, name: str) -> AppConfig:
    """`cfg` with the `mode: live` environment `name` on the paper venue, for the offline tools
    (smoke cycles, load tests) that replay a synthetic market in memory: they judge the schedules
    and never send an order to, or need the keys of, a real venue. Other configs are unchanged."""
    env = cfg.environments.get(name)
    if env is None or env.mode != "live":
        return cfg
    paper = env.model_copy(update={"mode": "paper"})
    return cfg.model_copy(update={"environments": {**cfg.environments, name: paper}})
