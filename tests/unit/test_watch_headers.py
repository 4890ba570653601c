"""Headers the watcher sends: sources, masking of secrets, what it actually sends on the wire."""

from __future__ import annotations

import pytest

from tradeops.config.models import MetricsConfig, ResourceLimits
from tradeops.domain.errors import UserInputError
from tradeops.observability.metrics import start_metrics_server
from tradeops.observability.scrape import ScrapeError, Scraper, build_headers, headers_report
from tradeops.runtime.stats import RuntimeStats


def by_key(report: dict) -> dict[str, dict]:
    return {h["key"]: h for h in report["headers"]}


def test_sources_and_masking() -> None:
    headers = build_headers(
        ("X-Trace=ops-42", "X-Api-Key: abcdef", "X-Client-Secret=zzz"),
        token_env="WATCH_TOKEN",
        config_token_env="IGNORED_WHEN_FLAG_GIVEN",
        environ={"WATCH_TOKEN": "t0ken-value"},
    )
    report = by_key(headers_report(headers))
    assert report["User-Agent"]["source"] == "default"
    assert report["X-Trace"] == {
        "key": "X-Trace",
        "length": 6,
        "source": "cli:--header",
        "masked": False,
        "value_preview": "ops-42",
    }
    assert report["Authorization"]["source"] == "env:WATCH_TOKEN"
    for secret in ("Authorization", "X-Api-Key", "X-Client-Secret"):
        assert report[secret]["masked"] is True and report[secret]["value_preview"] == "<masked>"
    assert report["Authorization"]["length"] == len("Bearer t0ken-value")
    assert "t0ken-value" not in str(report)


def test_token_named_by_config_is_labelled_as_config() -> None:
    headers = build_headers((), None, "CFG_TOKEN", {"CFG_TOKEN": "abc"})
    auth = by_key(headers_report(headers))["Authorization"]
    assert auth["source"] == "config:observability.metrics.token_env -> env:CFG_TOKEN"


def test_cli_header_replaces_a_default_of_the_same_name_and_long_values_are_truncated() -> None:
    long_value = "v" * 100
    report = headers_report(build_headers((f"user-agent={long_value}",), None, None, {}))
    [agent] = [h for h in report["headers"] if h["key"].lower() == "user-agent"]
    assert agent["source"] == "cli:--header" and agent["truncated"] is True
    assert len(agent["value_preview"]) == 80 and agent["length"] == 100


@pytest.mark.parametrize(
    ("cli", "token_env", "config_env", "message"),
    [
        (("novalue",), None, None, "--header"),
        (("=x",), None, None, "--header"),
        ((), "MISSING", None, "--token-env MISSING"),
        ((), None, "MISSING_CFG", "observability.metrics.token_env names MISSING_CFG"),
    ],
)
def test_bad_headers_and_missing_tokens_are_user_errors(
    cli: tuple[str, ...], token_env: str | None, config_env: str | None, message: str
) -> None:
    with pytest.raises(UserInputError, match=message):
        build_headers(cli, token_env, config_env, {})


def test_the_token_reaches_a_protected_exporter() -> None:
    cfg = MetricsConfig(port=0, token_env="EXPORTER_TOKEN")
    server = start_metrics_server(RuntimeStats("x"), cfg, ResourceLimits(), environ={"EXPORTER_TOKEN": "abc"})
    try:
        good = Scraper(server.url, build_headers((), "MY_TOKEN", None, {"MY_TOKEN": "abc"}))
        assert "tradeops_build_info" in good.scrape()
        good.close()
        bad = Scraper(server.url, build_headers((), None, None, {}))
        with pytest.raises(ScrapeError, match="--token-env"):
            bad.scrape()
        bad.close()
    finally:
        server.stop()
