"""The merged operations-log anchor on a real nats-server: two hosts' per-host chains, one signed
document merged from their anchors (CAS); an older copy put back, an entry dropped from the
merged document, or an anchor that goes back, are all caught."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.integration.cluster_harness import nats_connection
from tradeops.bootstrap.cluster_ops_anchor import signer, verify_merged
from tradeops.cluster.lease import ensure_bucket
from tradeops.cluster.ops_anchor import KEY, OpsAnchorSync, read_merged
from tradeops.decision_log.entry import sign_document
from tradeops.decision_log.keys import SigningKey
from tradeops.decision_log.writer import DecisionLogWriter

pytestmark = pytest.mark.services
SIGNER = SigningKey("ops", b"cluster-ops-anchor-secret")
KEYRING = {"ops": SIGNER}


@pytest.fixture
def bucket(tmp_path: Path):
    with nats_connection(tmp_path / "js", "ops-anchor-test") as conn:
        yield conn, ensure_bucket(conn, "tradeops_audit", None, 2.0)


def _append(path: Path, count: int) -> None:
    with DecisionLogWriter(path, SIGNER, environment="stage4") as writer:
        for i in range(count):
            writer.append(kind="note", stage="stage4", status="noted", artefacts={"n": i})


def test_two_hosts_chains_verify_against_one_merged_anchor(bucket, tmp_path: Path) -> None:
    conn, kv = bucket
    log_a, log_b = tmp_path / "a" / "stage4.jsonl", tmp_path / "b" / "stage4.jsonl"
    _append(log_a, 2)
    _append(log_b, 3)
    older = log_a.read_bytes(), log_a.with_name("stage4.jsonl.anchor").read_bytes()
    _append(log_a, 2)
    sync_a = OpsAnchorSync(conn, kv, "host-a", log_a.with_name("stage4.jsonl.anchor"), signer(SIGNER))
    sync_b = OpsAnchorSync(conn, kv, "host-b", log_b.with_name("stage4.jsonl.anchor"), signer(SIGNER))
    sync_a.step()
    sync_b.step()
    merged, _ = read_merged(conn, kv, 2.0)
    assert merged is not None and sorted(merged.hosts) == ["host-a", "host-b"]
    ok, report = verify_merged(merged, [log_a, log_b], KEYRING)
    assert ok, report
    assert any("host-a" in line and "(seq 5)" in line for line in report), report

    # host-a's older copy put back with its older anchor: consistent locally, below the cluster's
    log_a.write_bytes(older[0])
    log_a.with_name("stage4.jsonl.anchor").write_bytes(older[1])
    sync_a.step()  # never merged: the cluster's entry for host-a only moves forward
    merged, _ = read_merged(conn, kv, 2.0)
    ok, report = verify_merged(merged, [log_a], KEYRING)
    assert not ok and "ends at seq 3, below the cluster's anchor of host-a (seq 5)" in report[-1], report

    # an entry dropped from the merged document without the key: the signature fails
    document = orjson.loads(merged.raw)
    del document["hosts"]["host-b"]
    conn.call(kv.put(KEY, orjson.dumps(document)), 2.0)
    ok, report = verify_merged(read_merged(conn, kv, 2.0)[0], [log_b], KEYRING)
    assert not ok and "ops anchor: signature mismatch" in report[-1], report
    _, resigned = sign_document({k: v for k, v in document.items() if k != "signature"}, SIGNER)
    conn.call(kv.put(KEY, resigned), 2.0)  # with the key, an operator can re-sign what it holds
    ok, report = verify_merged(read_merged(conn, kv, 2.0)[0], [log_b], KEYRING)
    assert ok and report == ["note: operations log of host-a (anchored at seq 5) not given here"], report
