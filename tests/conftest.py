"""Shared test helpers.

A test that needs a real service runs it. `make test` installs what is missing first
(scripts/dev/ensure-tools.sh), so a missing service is a failure, except on a machine where nobody
could have installed it: not root and not installed. Only there the test skips, and says why.
With TRADEOPS_REQUIRE_SERVICES set (CI) a missing service always fails.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator

import pytest

REQUIRE_SERVICES = bool(os.environ.get("TRADEOPS_REQUIRE_SERVICES"))
# Binary -> the Debian package that ships it (the install hint of a skip or a failure).
PACKAGES = {
    "promtool": "prometheus",
    "prometheus": "prometheus",
    "amtool": "prometheus-alertmanager",
    "prometheus-alertmanager": "prometheus-alertmanager",
    "node": "nodejs",
    "npm": "npm",
    "chromium": "chromium",
    "nats-server": "nats-server",
}


def require_service(available: bool, what: str, package: str | None = None) -> None:
    """Fail when `what` is missing but could be installed here; skip only where it cannot be."""
    if available:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (TRADEOPS_REQUIRE_SERVICES is set) but not available")
    if os.geteuid() == 0:
        pytest.fail(f"{what} is not available: run `make tools` (scripts/dev/ensure-tools.sh) to install it")
    install = f"sudo apt-get install {package}" if package else "make tools as root"
    pytest.skip(f"{what} not available and not root, so `make tools` cannot install it: {install}")


def require_binary(name: str) -> str:
    path = shutil.which(name)
    require_service(path is not None, f"binary {name!r}", PACKAGES.get(name))
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


@pytest.fixture(autouse=True)
def _restore_working_directory() -> Iterator[None]:
    """In-process CLI calls may enter the project root (os.chdir); no test leaks that to the next."""
    before = os.getcwd()
    yield
    os.chdir(before)
