"""JetStream names of one cluster: buckets, keys, streams and subjects."""

from __future__ import annotations

import re

from tradeops.config.models import ClusterConfig

_KEY_SAFE = re.compile(r"[^A-Za-z0-9_=-]")


def token(value: str) -> str:
    """A value usable as one token of a KV key or subject (host ids may hold `:` or `@`)."""
    return _KEY_SAFE.sub("_", value)


def lease_bucket(cfg: ClusterConfig) -> str:
    return f"{cfg.bucket_prefix}_lease"


def lease_key(environment: str) -> str:
    return f"leader.{token(environment)}"


def follower_key(environment: str, host_id: str) -> str:
    return f"follower.{token(environment)}.{token(host_id)}"


def audit_bucket(cfg: ClusterConfig) -> str:
    """The merged anchor of the hosts' operations logs (cluster/ops_anchor.py)."""
    return f"{cfg.bucket_prefix}_audit"


def overrides_bucket(cfg: ClusterConfig) -> str:
    return f"{cfg.bucket_prefix}_overrides"


def override_key(environment: str, file_name: str) -> str:
    return f"{token(environment)}.{token(file_name)}"


def log_stream(cfg: ClusterConfig, environment: str) -> str:
    return f"{cfg.bucket_prefix}_log_{token(environment)}"


def log_subject(cfg: ClusterConfig, environment: str) -> str:
    return f"{cfg.bucket_prefix}.log.{token(environment)}"
