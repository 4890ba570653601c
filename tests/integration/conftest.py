"""Fixtures shared by the integration tests that trade the exchange simulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.live_sim import fast_sim
from tradeops.bootstrap.exchange_sim import SimulatorProcess


@pytest.fixture
def sim() -> Iterator[SimulatorProcess]:
    """A simulator process of the test's own (see `live_sim.fast_sim`); modules may override it."""
    with fast_sim() as process:
        yield process
