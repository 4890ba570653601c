"""Binance-style errors: an HTTP status plus a JSON body {"code": -NNNN, "msg": "..."}."""

from __future__ import annotations


class SimError(Exception):
    def __init__(self, status: int, code: int, msg: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(msg)
        self.status = status
        self.code = code
        self.msg = msg
        self.headers = headers or {}

    def body(self) -> dict[str, object]:
        return {"code": self.code, "msg": self.msg}


def bad_param(msg: str) -> SimError:
    return SimError(400, -1102, msg)


def filter_failure(name: str) -> SimError:
    return SimError(400, -1013, f"Filter failure: {name}")


def insufficient_balance() -> SimError:
    return SimError(400, -2010, "Account has insufficient balance for requested action.")


def duplicate_order() -> SimError:
    return SimError(400, -2010, "Duplicate order sent.")


def unknown_order_query() -> SimError:
    return SimError(400, -2013, "Order does not exist.")


def unknown_order_cancel() -> SimError:
    return SimError(400, -2011, "Unknown order sent.")


def invalid_symbol() -> SimError:
    return SimError(400, -1121, "Invalid symbol.")
