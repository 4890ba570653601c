"""Fixtures of the venue contract suite: one simulator process per session (xdist worker), reset per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .sim_process import SimProcess
from .venues import PaperVenue, SimVenue


@pytest.fixture(scope="session")
def sim_process() -> Iterator[SimProcess]:
    sim = SimProcess()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def sim(sim_process: SimProcess) -> SimProcess:
    sim_process.admin("reset", {})
    return sim_process


@pytest.fixture(params=["paper", "ccxt+sim"])
def venue(request: pytest.FixtureRequest) -> PaperVenue | SimVenue:
    if request.param == "paper":
        return PaperVenue()
    return SimVenue(request.getfixturevalue("sim"))
