"""Client order ids fit Binance's 36 characters and never repeat."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tradeops.domain.order_ids import BINANCE_MAX_LEN, base36, client_order_id, epoch_tag, id_sequence
from tradeops.persistence.projection import client_sequence
from tradeops.strategies.registry import STRATEGY_CLASSES

LONGEST = max(STRATEGY_CLASSES, key=len)
YEAR_2068_MS = 3_092_601_600_000  # 2068-01-01


def test_the_longest_strategy_name_fits_with_large_epochs_and_sequences() -> None:
    cid = client_order_id(LONGEST, epoch_tag(36**3 - 1), YEAR_2068_MS, 36**6 - 1)
    assert len(cid) <= BINANCE_MAX_LEN, cid
    assert cid.startswith(f"{LONGEST}-e")
    assert len(client_order_id(LONGEST, "", YEAR_2068_MS, 36**6 - 1)) <= BINANCE_MAX_LEN


@given(st.integers(0, 10**15))
def test_base36_round_trips(value: int) -> None:
    assert int(base36(value), 36) == value


@given(st.integers(1, 36**6 - 1), st.integers(1, 36**3 - 1), st.integers(0, YEAR_2068_MS))
def test_the_sequence_is_read_back(seq: int, epoch: int, now_ms: int) -> None:
    cid = client_order_id(LONGEST, epoch_tag(epoch), now_ms, seq)
    assert client_sequence(cid) == id_sequence(cid) == seq


@given(st.lists(st.tuples(st.integers(1, 500), st.integers(1, 10**4)), unique=True, min_size=2))
def test_distinct_epoch_and_sequence_give_distinct_ids(terms: list[tuple[int, int]]) -> None:
    ids = [client_order_id(LONGEST, epoch_tag(e), 1_767_225_600_000, s) for e, s in terms]
    assert len(set(ids)) == len(ids)


def test_a_decimal_sequence_of_an_older_id_reads_no_lower() -> None:
    old = "mean_reversion-1767225600000-1234"
    assert client_sequence(old) >= 1234  # the next sequence never repeats an older id's
