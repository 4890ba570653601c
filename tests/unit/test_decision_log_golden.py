"""Golden bytes of the signed format: lines written by the encoder as of format 2 (December 2026)
must stay byte-identical, and a log written then (with a key rotation) must keep verifying.

A change here means existing logs would no longer verify or would be written differently: the
format is frozen, so these constants are never regenerated to make a test pass."""

# ruff: noqa: E501

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tradeops.decision_log.anchor import anchor_path
from tradeops.decision_log.entry import encode_entry
from tradeops.decision_log.keys import SigningKey
from tradeops.decision_log.verify import verify_file

KEY = SigningKey("golden", b"golden-secret-0123456789", "sha256")
KEY384 = SigningKey("golden384", b"golden-secret-384", "sha384")
KEY2 = SigningKey("golden2", b"second-golden-secret", "sha256")
BASE = {
    "kind": "fill",
    "stage": "paper",
    "status": "filled",
    "timestamp": "2026-12-01T12:00:00.123000+00:00",
    "seq": 7,
    "prev_hash": "sha256:" + "ab" * 32,
    "log_id": "0f" * 16,
}
CASES = {
    "common": {
        "artefacts": {"order_id": "p-1", "symbol": "BTC/USDT"},
        "metadata": {"price": "43000.5", "ts_ms": 1767225600000, "market_time": "2026-01-01T00:00:00+00:00"},
        "tags": ["fill"],
        "key": KEY,
    },
    "unicode_nested": {
        "artefacts": {
            "note": 'caf\u00e9 \u2713 "q"\n',
            "list": [1, 2.5, None, True, {"z": 1, "a": [Decimal("1.2300E+3")]}],
        },
        "metadata": {},
        "tags": [],
        "key": KEY,
    },
    "tiny_float": {
        "artefacts": {"x": 2.5e-9, "y": 0.00001},
        "metadata": {"z": 1e-7},
        "tags": ["a", "b"],
        "key": KEY,
    },
    "extra": {
        "artefacts": {"a": 1},
        "metadata": {"b": 2},
        "tags": [],
        "key": KEY,
        "extra": {"zeta": {"q": 1e-5}, "alpha": "first"},
    },
    "unsigned": {"artefacts": {"a": 1}, "metadata": {}, "tags": ["t"], "key": None},
    "sha384": {"artefacts": {"a": 1}, "metadata": {"m": -3}, "tags": [], "key": KEY384},
}
GOLDEN = {
    "common": b'{"artefacts":{"order_id":"p-1","symbol":"BTC/USDT"},"kind":"fill","log_id":"0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f","metadata":{"market_time":"2026-01-01T00:00:00+00:00","price":"43000.5","ts_ms":1767225600000},"prev_hash":"sha256:abababababababababababababababababababababababababababababababab","seq":7,"signature":{"algorithm":"HMAC-SHA256","key_id":"golden","value":"lsi8e3IGAnz5KbXArMeYJgCY5Xnsbec6ixdGF08GZ4o="},"stage":"paper","status":"filled","tags":["fill"],"timestamp":"2026-12-01T12:00:00.123000+00:00"}',
    "unicode_nested": b'{"artefacts":{"list":[1,2.5,null,true,{"a":["1230"],"z":1}],"note":"caf\xc3\xa9 \xe2\x9c\x93 \\"q\\"\\n"},"kind":"fill","log_id":"0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f","metadata":{},"prev_hash":"sha256:abababababababababababababababababababababababababababababababab","seq":7,"signature":{"algorithm":"HMAC-SHA256","key_id":"golden","value":"1stXjjncGwyV+61JTFaKGavx+Fnjj5R9c4s7zBxBx4Q="},"stage":"paper","status":"filled","tags":[],"timestamp":"2026-12-01T12:00:00.123000+00:00"}',
    "tiny_float": b'{"artefacts":{"x":2.5e-09,"y":1e-05},"kind":"fill","log_id":"0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f","metadata":{"z":1e-07},"prev_hash":"sha256:abababababababababababababababababababababababababababababababab","seq":7,"signature":{"algorithm":"HMAC-SHA256","key_id":"golden","value":"XrGTqDyuT0uqMsDg3yGgeuuDHxLeaIbUNX0njgC9xCc="},"stage":"paper","status":"filled","tags":["a","b"],"timestamp":"2026-12-01T12:00:00.123000+00:00"}',
    "extra": b'{"alpha":"first","artefacts":{"a":1},"kind":"fill","log_id":"0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f","metadata":{"b":2},"prev_hash":"sha256:abababababababababababababababababababababababababababababababab","seq":7,"signature":{"algorithm":"HMAC-SHA256","key_id":"golden","value":"3mVhSE0rWChZhrWMrnbKVf5ZH4JlteobyNqqyXOeizY="},"stage":"paper","status":"filled","tags":[],"timestamp":"2026-12-01T12:00:00.123000+00:00","zeta":{"q":1e-05}}',
    "unsigned": b'{"artefacts":{"a":1},"kind":"fill","log_id":"0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f","metadata":{},"prev_hash":"sha256:abababababababababababababababababababababababababababababababab","seq":7,"stage":"paper","status":"filled","tags":["t"],"timestamp":"2026-12-01T12:00:00.123000+00:00"}',
    "sha384": b'{"artefacts":{"a":1},"kind":"fill","log_id":"0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f","metadata":{"m":-3},"prev_hash":"sha256:abababababababababababababababababababababababababababababababab","seq":7,"signature":{"algorithm":"HMAC-SHA384","key_id":"golden384","value":"EfFzrCNApvn6qZobXwbsEoK/MDgYi1aSbgMb/QX0rBS6i9a9OpEd11+4eI0tlEo8"},"stage":"paper","status":"filled","tags":[],"timestamp":"2026-12-01T12:00:00.123000+00:00"}',
}
# Written by DecisionLogWriter (fsync each, clock 2026-12-01T12:00:00Z + 1 ms per call, log id 0x1234):
# genesis, a signal with a tiny float, a fill, a key rotation golden -> golden2, a fill with an extra field.
GOLDEN_LOG = b'{"artefacts":{"created":"2026-12-01T12:00:00+00:00","environment":"paper","format":2,"key_id":"golden"},"kind":"log_genesis","log_id":"00000000000000000000000000001234","metadata":{},"prev_hash":"sha256:0000000000000000000000000000000000000000000000000000000000000000","seq":1,"signature":{"algorithm":"HMAC-SHA256","key_id":"golden","value":"mybY9o6T4O6Y6pYHLcoWVoA2eRgdDuEoakC1QVMmswY="},"stage":"paper","status":"created","tags":["decision_log"],"timestamp":"2026-12-01T12:00:00+00:00"}\n{"artefacts":{"strategy":"s","x":0.5},"kind":"signal","log_id":"00000000000000000000000000001234","metadata":{"tiny":1e-06},"prev_hash":"sha256:30033a7657b2c0c498d886d49a0d9657d2d0d50213b576f3b25e04b4b233efff","seq":2,"signature":{"algorithm":"HMAC-SHA256","key_id":"golden","value":"9To4krzCB33YmugUM3y19L8Xpu2Ia7WldCl8XbUm2oE="},"stage":"paper","status":"emitted","tags":[],"timestamp":"2026-12-01T12:00:00.001000+00:00"}\n{"artefacts":{"order_id":"p-1"},"kind":"fill","log_id":"00000000000000000000000000001234","metadata":{"q":"0.01"},"prev_hash":"sha256:441cf5d656b8ed588c0cb851cdc358318c6e7953ce94482ba1f4feb317dd4659","seq":3,"signature":{"algorithm":"HMAC-SHA256","key_id":"golden","value":"LCPcSz6R3FO3wqpYCVXWOrNx26vr14tQupXQt1hPs7M="},"stage":"paper","status":"filled","tags":["fill"],"timestamp":"2026-12-01T12:00:00.002000+00:00"}\n{"artefacts":{"from_key_id":"golden","to_key_id":"golden2"},"key_rotation":{"endorsement":{"algorithm":"HMAC-SHA256","key_id":"golden","value":"b4r3FuFSc48wyeMYRiNXxznkUp61Ou/3dMkNf3Uxl/w="},"from_key_id":"golden","to_key_id":"golden2"},"kind":"key_rotation","log_id":"00000000000000000000000000001234","metadata":{"reason":"scheduled"},"prev_hash":"sha256:8dd60e098fa6c4ac508a773cc4ece60e0fed6bce1519b52fb13817a97cb7688e","seq":4,"signature":{"algorithm":"HMAC-SHA256","key_id":"golden2","value":"c7I89KIgl4BRTItRB6sPBP9qJg0RP2nENyK8MmoQ2vY="},"stage":"paper","status":"rotated","tags":["decision_log","key_rotation"],"timestamp":"2026-12-01T12:00:00.003000+00:00"}\n{"artefacts":{"order_id":"p-2"},"kind":"fill","log_id":"00000000000000000000000000001234","metadata":{},"note":"after rotation","prev_hash":"sha256:35530eb2b8f2bfc1f9849ceaa2c76d92e77eb21be84501e1e3e1679ec291f8b3","seq":5,"signature":{"algorithm":"HMAC-SHA256","key_id":"golden2","value":"X4gD0UIPFApuRlKU1feSgS03RwOCPLZcdq25YqLZS3w="},"stage":"paper","status":"filled","tags":[],"timestamp":"2026-12-01T12:00:00.005000+00:00"}\n'
GOLDEN_ANCHOR = b'{"format":2,"head":"sha256:632619e1099d728faad0cce8d52991b40a670d44a89f4e37eedfd474b8900d6b","kind":"log_anchor","log_id":"00000000000000000000000000001234","seq":5,"signature":{"algorithm":"HMAC-SHA256","key_id":"golden2","value":"0Ttz6k3J1JUGtL+w0O6kpM0cKCBYA8jgfSrxbRvNFp8="},"updated":"2026-12-01T12:00:00.006000+00:00"}\n'


@pytest.mark.parametrize("name", sorted(CASES))
def test_encoder_writes_the_golden_bytes(name: str) -> None:
    _entry, line = encode_entry(**BASE, **CASES[name])
    assert line == GOLDEN[name]


def test_a_log_written_in_format_2_still_verifies(tmp_path: Path) -> None:
    path = tmp_path / "golden.jsonl"
    path.write_bytes(GOLDEN_LOG)
    anchor_path(path).write_bytes(GOLDEN_ANCHOR)
    result = verify_file(path, keyring={"golden": KEY, "golden2": KEY2})
    assert result.ok, result
    assert (result.entries, result.rotations, result.anchor_seq) == (5, 1, 5)


def test_the_golden_log_fails_with_the_wrong_key(tmp_path: Path) -> None:
    path = tmp_path / "golden.jsonl"
    path.write_bytes(GOLDEN_LOG)
    anchor_path(path).write_bytes(GOLDEN_ANCHOR)
    wrong = SigningKey("golden", b"not-the-golden-secret", "sha256")
    result = verify_file(path, keyring={"golden": wrong, "golden2": KEY2}, check_anchor=False)
    assert not result.ok
    assert result.first_error_line == 1
