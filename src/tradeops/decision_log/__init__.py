"""Signed, hash-chained, append-only decision log (JSONL): write, verify, read, repair."""

from tradeops.decision_log.keys import SigningKey, load_keyring, resolve_signing_key
from tradeops.decision_log.reader import iter_entries, tail
from tradeops.decision_log.verify import VerifyResult, verify_file, verify_log
from tradeops.decision_log.writer import DecisionLogWriter

__all__ = [
    "DecisionLogWriter",
    "SigningKey",
    "VerifyResult",
    "iter_entries",
    "load_keyring",
    "resolve_signing_key",
    "tail",
    "verify_file",
    "verify_log",
]
