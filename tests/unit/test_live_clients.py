"""Building live venue clients from the shipped config (no network): keys from the named env
vars, testnet by sandbox mode, the simulator by URL, the per-order cap; simulator accounts files."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tradeops.bootstrap.live import build_ccxt_exchange
from tradeops.cli.main import main
from tradeops.config.load import load_config
from tradeops.domain.errors import UserInputError
from tradeops.exchanges.sim.server import load_accounts

CFG = load_config("config/core.yaml")
KEYS = {
    "BINANCE_TESTNET_API_KEY": "tk",
    "BINANCE_TESTNET_SECRET": "ts",
    "BYBIT_TESTNET_API_KEY": "bk",
    "BYBIT_TESTNET_SECRET": "bs",
    "TRADEOPS_SIM_API_KEY": "sk",
    "TRADEOPS_SIM_SECRET": "ss",
}


def test_testnet_venues_use_the_venues_sandbox_urls_and_named_keys():
    env = CFG.environments["binance_testnet"]
    binance = build_ccxt_exchange("binance_testnet", env, "binance", KEYS)._ex
    assert (binance.apiKey, binance.secret) == ("tk", "ts")
    assert binance.urls["api"]["public"].startswith("https://testnet.binance.vision/")
    bybit = build_ccxt_exchange("binance_testnet", env, "bybit", KEYS)._ex
    assert bybit.apiKey == "bk" and "testnet" in json.dumps(bybit.urls["api"])


def test_sim_venue_points_every_rest_url_at_the_simulator_with_the_order_cap():
    env = CFG.environments["binance_sim"]
    exchange = build_ccxt_exchange("binance_sim", env, "binance", KEYS)
    rest = {k: v for k, v in exchange._ex.urls["api"].items() if isinstance(v, str)}
    assert set(rest.values()) == {"http://127.0.0.1:8765/api/v3"}
    assert exchange._max_notional == Decimal("50000.0")
    with pytest.raises(UserInputError, match="no venue 'kraken'"):
        build_ccxt_exchange("binance_sim", env, "kraken", KEYS)


def test_accounts_file_is_validated_in_one_line(tmp_path):
    good = tmp_path / "accounts.json"
    good.write_text(
        json.dumps({"accounts": [{"api_key": "k" * 20, "secret": "s" * 20, "balances": {"USDT": 5}}]})
    )
    (account,) = load_accounts(str(good))
    assert account.balances["USDT"].free == Decimal(5)
    bad = tmp_path / "bad.json"
    for text in ('{"accounts": []}', '{"accounts": [{"api_key": "short", "secret": "x"}]}', "not json"):
        bad.write_text(text)
        with pytest.raises(UserInputError, match="--accounts") as info:
            load_accounts(str(bad))
        assert "\n" not in str(info.value)


def test_serve_refuses_a_bad_accounts_file_with_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"accounts": [{"api_key": "k", "secret": "s"}]}')
    assert main(["exchange-sim", "serve", "--port", "0", "--accounts", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --accounts")
