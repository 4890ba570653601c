"""Shared test helpers. Tests that need real services skip only when TRADEOPS_REQUIRE_SERVICES is unset."""

from __future__ import annotations

import os
import shutil
import socket

import pytest

REQUIRE_SERVICES = bool(os.environ.get("TRADEOPS_REQUIRE_SERVICES"))


def require_service(available: bool, what: str) -> None:
    """Skip (locally) or fail (in CI, where TRADEOPS_REQUIRE_SERVICES is set) when `what` is missing."""
    if available:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (TRADEOPS_REQUIRE_SERVICES is set) but not available")
    pytest.skip(f"{what} not available; set TRADEOPS_REQUIRE_SERVICES=1 to make this a failure")


def require_binary(name: str) -> str:
    path = shutil.which(name)
    require_service(path is not None, f"binary {name!r}")
    assert path is not None
    return path


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
