"""`tradeops alerts silence|unsilence|silences`: matchers, durations and one-line errors (no Alertmanager).

The full silence -> suppressed -> unsilence flow runs against a real Alertmanager in
tests/integration/test_prometheus_alertmanager.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.integration.live import scratch_repo
from tradeops.cli.main import main
from tradeops.domain.errors import UserInputError
from tradeops.observability.alertmanager import Matcher, parse_matcher, parse_time, to_rfc3339
from tradeops.observability.durations import format_duration, parse_duration
from tradeops.observability.silences import silence_rows, stage4_matchers


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30m", 1800), ("2h", 7200), ("1d", 86400), ("90s", 90), ("1h30m", 5400), ("0.5h", 1800)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize("text", ["", "15", "15x", "m15", "0m", "-5m", "2 h"])
def test_bad_durations_name_the_flag(text: str) -> None:
    with pytest.raises(UserInputError, match="--duration"):
        parse_duration(text)


def test_watch_durations_reject_days() -> None:
    with pytest.raises(UserInputError, match="s, m, h"):
        parse_duration("1d", units="smh")


def test_matchers() -> None:
    assert parse_matcher("severity=critical") == Matcher("severity", "critical")
    assert parse_matcher('team!="risk"') == Matcher("team", "risk", is_equal=False)
    regex = parse_matcher("alertname=~Stage4.*")
    assert regex.is_regex and regex.matches({"alertname": "Stage4NoFills"})
    assert not regex.matches({"alertname": "Other"})
    assert str(parse_matcher("a!~b|c")) == "a!~b|c"
    for bad in ("severity", "=x", "a=", "a=~("):
        with pytest.raises(UserInputError, match="--matcher"):
            parse_matcher(bad)


def test_stage4_matchers_default_and_override() -> None:
    assert stage4_matchers({"stage": "stage4"}, ()) == (Matcher("stage", "stage4"),)
    narrowed = stage4_matchers({"stage": "stage4"}, ("alertname=Stage4NoFills",))
    assert [str(m) for m in narrowed] == ["stage=stage4", "alertname=Stage4NoFills"]
    replaced = stage4_matchers({"stage": "stage4"}, ("stage=~stage4|stage5",))
    assert [str(m) for m in replaced] == ["stage=~stage4|stage5"]


def test_timestamps_round_trip_with_nanoseconds() -> None:
    moment = parse_time("2026-01-02T03:04:05.123456789Z")
    assert to_rfc3339(moment) == "2026-01-02T03:04:05.123Z"


def test_silence_rows_keep_active_and_pending_only() -> None:
    silences = [
        {"id": "a", "status": {"state": "active"}, "endsAt": "2026-01-01T02:00:00Z", "matchers": []},
        {"id": "b", "status": {"state": "expired"}, "endsAt": "2026-01-01T01:00:00Z", "matchers": []},
        {
            "id": "c",
            "status": {"state": "pending"},
            "endsAt": "2026-01-01T03:00:00Z",
            "matchers": [{"name": "stage", "value": "stage4", "isRegex": False, "isEqual": True}],
        },
    ]
    assert [r["id"] for r in silence_rows(silences, active_only=True)] == ["c", "a"]
    assert silence_rows(silences, active_only=True)[0]["matchers"] == "stage=stage4"
    assert len(silence_rows(silences, active_only=False)) == 3


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = scratch_repo(tmp_path)
    monkeypatch.chdir(root)
    monkeypatch.delenv("TRADEOPS_ALERTMANAGER_URL", raising=False)
    return root


def silence_args(*extra: str) -> list[str]:
    return ["alerts", "silence", "--duration", "2h", "--ticket", "INC-1", "--created-by", "ops", *extra]


def test_no_url_anywhere_is_exit_2(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(silence_args()) == 2
    err = capsys.readouterr().err
    assert err == (
        "error: no Alertmanager URL: pass --alertmanager-url, set TRADEOPS_ALERTMANAGER_URL or "
        "observability.alertmanager.url\n"
    )


def test_unreachable_alertmanager_is_exit_2_and_nothing_is_logged(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert main(silence_args("--alertmanager-url", url)) == 2
    err = capsys.readouterr().err
    last = err.splitlines()[-1]
    assert last.startswith("error: Alertmanager at") and "unreachable" in last and url in last
    assert not (repo / "audit" / "decision_logs" / "stage4.jsonl").exists()
    assert main(["alerts", "silences", "--alertmanager-url", url]) == 2
    assert main(["alerts", "unsilence", "--alertmanager-url", url, "--id", "x"]) == 2


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--duration", "2x"), "--duration"),
        (("--matcher", "nonsense"), "--matcher"),
        (("--ticket", "  "), "--ticket must not be blank"),
    ],
)
def test_bad_input_is_exit_2_before_any_request(
    repo: Path, capsys: pytest.CaptureFixture[str], extra: tuple[str, ...], message: str
) -> None:
    # The URL points nowhere: a bad flag must be reported before any connection is tried.
    url = f"http://127.0.0.1:{free_port()}"
    assert main([*silence_args("--alertmanager-url", url), *extra]) == 2
    assert message in capsys.readouterr().err
    assert not (repo / "var").exists()  # no key, no state store created for a rejected command
