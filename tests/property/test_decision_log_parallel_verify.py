"""Parallel verify (the log split into chunks, checked apart, joined in order) gives exactly the
sequential result for any mutated log: the same verdict, first bad line, reason, head, counts. Chunks
are forced down to a few lines so every boundary case (a rotation, a tampered line, a torn tail at or
next to a boundary) is exercised; the chunks run in this process here, in worker processes below."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.property.test_decision_log_fast_verify import WRONG, resign
from tests.property.test_decision_log_tamper import KEYRING, SCRATCH, build_log, entries, mutate, mutations
from tradeops.decision_log.entry import line_hash
from tradeops.decision_log.parallel_verify import verify_chunk, verify_file_parallel
from tradeops.decision_log.verify import verify_file


def in_process(jobs):
    return map(verify_chunk, list(jobs))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    specs=st.lists(entries, min_size=1, max_size=6),
    rotate_at=st.none() | st.integers(min_value=0, max_value=5),
    mutation=st.none() | mutations | st.tuples(st.just("resign"), st.integers(min_value=0, max_value=100)),
    jobs=st.integers(min_value=2, max_value=7),
    check_anchor=st.booleans(),
    expect=st.none() | st.integers(min_value=0, max_value=10),
)
def test_parallel_verify_equals_sequential(specs, rotate_at, mutation, jobs, check_anchor, expect):
    with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
        path, second = Path(tmp) / "log.jsonl", Path(tmp) / "second.jsonl"
        build_log(path, specs, rotate_at)
        build_log(second, specs, rotate_at)
        original = path.read_bytes()
        lines = original.splitlines()
        expect_head = None if expect is None else line_hash(lines[expect % len(lines)], "sha256")
        if mutation is not None and mutation[0] == "resign":
            path.write_bytes(resign(original, mutation[1], WRONG))
        elif mutation is not None:
            path.write_bytes(mutate(original, second.read_bytes().splitlines(), mutation))
        options = {"keyring": KEYRING, "check_anchor": check_anchor, "expect_head": expect_head}
        sequential = verify_file(path, **options)
        parallel = verify_file_parallel(path, jobs=jobs, min_chunk_bytes=1, chunk_map=in_process, **options)
        assert parallel == sequential, mutation
        if mutation is None:
            assert parallel.ok


def _edit_last_status(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: data.rindex(b'"status":"') + 10] + b"X" + data[data.rindex(b'"status":"') + 11 :])


def test_worker_processes_give_the_sequential_result(tmp_path):
    path = tmp_path / "log.jsonl"
    build_log(path, [{"status": f"s{n}", "artefacts": {"n": n}, "tags": []} for n in range(40)], 20)
    good = verify_file(path, keyring=KEYRING)
    assert good.ok and good.rotations == 1
    assert verify_file_parallel(path, keyring=KEYRING, jobs=3, min_chunk_bytes=1) == good
    _edit_last_status(path)
    bad = verify_file(path, keyring=KEYRING)
    assert not bad.ok and bad.first_error_line == 42
    assert verify_file_parallel(path, keyring=KEYRING, jobs=3, min_chunk_bytes=1) == bad
