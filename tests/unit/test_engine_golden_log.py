"""The engine's decisions do not move when its hot path changes: a small synthetic dense window
(400 bars per symbol, four strategies, two venues, the risk gate, paper fills, the signed log) gives
the decision log recorded in `golden/dense_400.jsonl.gz`, entry for entry and byte for byte, bar
what differs per run by design (log id, chain, signatures, run id, wall-clock times).

The fixture was produced by the engine as it was before issue 17's hot-path work (commit 7e56733)
with `python tests/unit/test_engine_golden_log.py` run from the repository root; regenerate it only
when a change of decisions is intended, and say so in the commit."""

from __future__ import annotations

import gzip
import shutil
import sys
import tempfile
from pathlib import Path

from tradeops.decision_log.keys import ephemeral_key

if not __package__:  # run as a script to regenerate the fixture
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.unit.dense_window import REPO, normalised, run_dense

GOLDEN = Path(__file__).with_name("golden") / "dense_400.jsonl.gz"


def _run_window(workdir: Path) -> list[bytes]:
    """The normalised log of the window, run in `workdir` (which holds a copy of config/)."""
    log = workdir / "decisions.jsonl"
    run_dense(log, ephemeral_key(), state=workdir / "state.sqlite")
    return normalised(log)


def test_the_dense_window_gives_the_golden_decision_log(tmp_path, monkeypatch):
    shutil.copytree(REPO / "config", tmp_path / "config")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRADEOPS_DECISION_LOG_KEY", raising=False)
    monkeypatch.delenv("TRADEOPS_DECISION_LOG_KEY_FILE", raising=False)
    got = _run_window(tmp_path)
    want = gzip.decompress(GOLDEN.read_bytes()).splitlines()
    assert sum(b'"kind": "fill"' in line for line in want) > 100  # the window trades
    assert len(got) == len(want)
    for index, (line, golden) in enumerate(zip(got, want, strict=True)):
        assert line == golden, f"entry {index + 1} differs"


if __name__ == "__main__":
    import os

    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(REPO / "config", Path(tmp) / "config")
        os.chdir(tmp)
        lines = _run_window(Path(tmp))
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_bytes(gzip.compress(b"\n".join(lines) + b"\n", mtime=0))
    print(f"{GOLDEN}: {len(lines)} entries")
