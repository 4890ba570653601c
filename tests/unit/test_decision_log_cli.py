"""`tradeops decision-log ...` in process: output lines, exit codes, nothing appended on bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tradeops.cli.main import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    shutil.copytree(REPO / "config", tmp_path / "config")
    (tmp_path / "key").write_text("cli-secret\n")
    monkeypatch.chdir(tmp_path)
    for name in ("TRADEOPS_DECISION_LOG_KEY", "TRADEOPS_DECISION_LOG_KEY_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRADEOPS_DECISION_LOG_KEY_FILE", str(tmp_path / "key"))
    return tmp_path


def run(capsys, *args):
    code = main(["decision-log", *args])
    out, err = capsys.readouterr()
    return code, out, err


def summary(capsys, *extra):
    return run(
        capsys,
        "summary",
        "--stage",
        "stage4",
        "--status",
        "restored",
        "--artefact",
        "incident_id=INC-7",
        *extra,
    )


def test_bare_append_goes_to_the_operations_log(workdir, capsys):
    code, out, _ = summary(capsys, "--append", "--tag", "rollback")
    assert code == 0
    assert out.startswith("appended restored to audit/decision_logs/stage4.jsonl (seq 2, head sha256:")
    entry = json.loads((workdir / "audit/decision_logs/stage4.jsonl").read_text().splitlines()[1])
    assert entry["signature"]["key_id"] == "tradeops-ops" and entry["tags"] == ["rollback"]


def test_without_append_the_entry_is_printed(workdir, capsys):
    code, out, _ = summary(capsys, "--kind", "config_change", "--hmac-key-id", "ops-7")
    entry = json.loads(out)
    assert code == 0 and entry["kind"] == "config_change" and entry["signature"]["key_id"] == "ops-7"
    assert not (workdir / "audit").exists()


@pytest.mark.parametrize(
    "extra",
    [
        ["--artefact", "broken"],
        ["--artefact-from-file", "x=missing.json"],
        ["--metadata", "nokey"],
        ["--timestamp", "not-a-time"],
        ["--hmac-key", "v", "--hmac-key-file", "key"],
        ["--config", "missing.yaml"],
    ],
)
def test_bad_input_exits_2_and_appends_nothing(workdir, capsys, extra):
    code, out, err = summary(capsys, "--append", "log.jsonl", *extra)
    assert code == 2 and out == "" and err.startswith("error: ") and err.count("\n") == 1
    assert not (workdir / "log.jsonl").exists()


def test_missing_key_exits_2(workdir, capsys, monkeypatch):
    monkeypatch.delenv("TRADEOPS_DECISION_LOG_KEY_FILE")
    code, _, err = summary(capsys, "--append", "log.jsonl")
    assert code == 2 and "--hmac-key-file" in err and "TRADEOPS_DECISION_LOG_KEY_FILE" in err
    assert not (workdir / "log.jsonl").exists()
    assert summary(capsys, "--append", "log.jsonl", "--allow-unsigned")[0] == 0
    assert all(
        "signature" not in json.loads(line) for line in (workdir / "log.jsonl").read_text().splitlines()
    )


def test_unreadable_log_exits_2(workdir, capsys):
    (workdir / "adir.jsonl").mkdir()
    code, _, err = summary(capsys, "--append", "adir.jsonl")
    assert code == 2 and "adir.jsonl" in err


def test_verify_ok_fail_and_unreadable(workdir, capsys):
    summary(capsys, "--append", "log.jsonl")
    _, appended, _ = summary(capsys, "--append", "log.jsonl")
    head = appended.split("head ")[1].rstrip(")\n")
    code, out, _ = run(capsys, "verify", "--strict", "log.jsonl")
    assert code == 0 and out == f"OK: 3 entries, head {head}\n"
    log = workdir / "log.jsonl"
    log.write_text(log.read_text().replace("INC-7", "INC-8", 1))
    code, out, _ = run(capsys, "verify", "log.jsonl")
    assert code == 1 and out.startswith("FAIL: log.jsonl:2: signature mismatch")
    code, _, err = run(capsys, "verify", "nothing.jsonl")
    assert code == 2 and "not found" in err


def test_verify_jobs_splits_the_log_with_the_same_output(workdir, capsys, monkeypatch):
    for _ in range(6):
        summary(capsys, "--append", "log.jsonl")
    _, sequential, _ = run(capsys, "verify", "--jobs", "1", "log.jsonl")
    monkeypatch.setattr("tradeops.decision_log.parallel_verify.MIN_CHUNK_BYTES", 1)
    _, parallel, _ = run(capsys, "verify", "--jobs", "2", "log.jsonl")
    assert parallel == sequential and sequential.startswith("OK: 7 entries, head ")
    log = workdir / "log.jsonl"
    log.write_text(log.read_text().replace("INC-7", "INC-8", 6))
    code, out, _ = run(capsys, "verify", "--jobs", "2", "log.jsonl")
    assert code == 1 and out.startswith("FAIL: log.jsonl:2: signature mismatch")


def test_verify_with_keyring_and_expect_head(workdir, capsys, monkeypatch):
    summary(capsys, "--append", "log.jsonl", "--hmac-key-id", "old")
    summary(capsys, "--append", "log.jsonl", "--hmac-key-id", "old")
    (workdir / "ring.yaml").write_text("old: {file: key}\n")
    monkeypatch.delenv("TRADEOPS_DECISION_LOG_KEY_FILE")
    code, out, _ = run(capsys, "verify", "--strict", "--keyring", "ring.yaml", "log.jsonl")
    assert code == 0 and out.startswith("OK: 3 entries")
    head = out.split("head ")[1].strip()
    code, out, _ = run(capsys, "anchor", "--keyring", "ring.yaml", "log.jsonl")
    assert code == 0 and out.count("\n") == 1 and f"seq=3 head={head}" in out
    anchor_line = out.strip()
    log = workdir / "log.jsonl"
    log.write_bytes(b"".join(log.read_bytes().splitlines(keepends=True)[:2]))  # drop the last entry
    code, out, _ = run(capsys, "verify", "--keyring", "ring.yaml", "log.jsonl")
    assert code == 1 and out.startswith("FAIL: log.jsonl:3:") and "truncated" in out
    args = ["verify", "--no-anchor", "--keyring", "ring.yaml", "--expect-head", anchor_line, "log.jsonl"]
    code, out, _ = run(capsys, *args)
    assert code == 1 and out.startswith("FAIL: log.jsonl:3: expected head")


def test_verify_without_any_key_is_a_user_error(workdir, capsys, monkeypatch):
    summary(capsys, "--append", "log.jsonl")
    monkeypatch.delenv("TRADEOPS_DECISION_LOG_KEY_FILE")
    code, _, err = run(capsys, "verify", "log.jsonl")
    assert code == 2 and "--keyring" in err


def test_tail_show_and_repair(workdir, capsys):
    for _ in range(3):
        summary(capsys, "--append", "log.jsonl")
    code, out, _ = run(capsys, "tail", "-n", "2", "log.jsonl")
    assert code == 0 and [line.split("\t")[0] for line in out.splitlines()] == ["3", "4"]
    code, out, _ = run(capsys, "show", "log.jsonl", "2")
    assert code == 0 and json.loads(out)["seq"] == 2
    assert run(capsys, "show", "log.jsonl", "9")[0] == 2
    with (workdir / "log.jsonl").open("ab") as handle:
        handle.write(b'{"kind":')
    code, _, err = summary(capsys, "--append", "log.jsonl")
    assert code == 2 and "repair" in err
    code, out, _ = run(capsys, "verify", "log.jsonl")
    assert code == 1 and out.startswith("FAIL: log.jsonl:5: torn last line")
    code, out, _ = run(capsys, "repair", "log.jsonl")
    assert code == 0 and "moved 8 bytes from line 5" in out
    assert run(capsys, "verify", "--strict", "log.jsonl")[1].startswith("OK: 5 entries")
    assert run(capsys, "repair", "log.jsonl")[1].startswith("nothing to repair")


def test_script_dispatch(workdir, capsys):
    args = ["summary", "--append", "log.jsonl", "--stage", "s", "--status", "x", "--artefact", "a=1"]
    code = main(["decision-log", "script", *args])
    assert code == 0
    capsys.readouterr()
    assert main(["decision-log", "script", "--strict", "log.jsonl"]) == 0
    assert capsys.readouterr().out.startswith("OK: 2 entries")
    assert main(["decision-log", "script", "--no-such-flag", "log.jsonl"]) == 2


def test_rotate_key_then_verify_with_a_keyring(workdir, capsys, monkeypatch):
    summary(capsys, "--append", "log.jsonl")
    (workdir / "new.key").write_text("new-secret\n")
    args = [
        "rotate-key",
        "log.jsonl",
        "--new-key-file",
        "new.key",
        "--new-key-id",
        "ops-2027",
        "--reason",
        "yearly",
    ]
    code, out, _ = run(capsys, *args)
    assert code == 0 and "from key 'tradeops-ops' to 'ops-2027' at seq 3" in out
    monkeypatch.setenv("TRADEOPS_DECISION_LOG_KEY_FILE", str(workdir / "new.key"))
    monkeypatch.setenv("TRADEOPS_DECISION_LOG_KEY_ID", "ops-2027")
    assert summary(capsys, "--append", "log.jsonl")[0] == 0
    (workdir / "ring.yaml").write_text("tradeops-ops: {file: key}\nops-2027: {file: new.key}\n")
    code, out, err = run(capsys, "verify", "--keyring", "ring.yaml", "log.jsonl")
    assert code == 0 and out.startswith("OK: 4 entries") and "1 key rotations followed" in err
    # The old key alone can no longer append: the log moved on.
    monkeypatch.setenv("TRADEOPS_DECISION_LOG_KEY_FILE", str(workdir / "key"))
    monkeypatch.delenv("TRADEOPS_DECISION_LOG_KEY_ID")
    code, _, err = summary(capsys, "--append", "log.jsonl")
    assert code == 2 and "signed with key id 'ops-2027'" in err and err.count("\n") == 1


def test_reanchor_a_lost_anchor(workdir, capsys):
    summary(capsys, "--append", "log.jsonl")
    (workdir / "log.jsonl.anchor").unlink()
    code, out, _ = run(capsys, "verify", "log.jsonl")
    assert code == 1 and "no anchor" in out
    code, _, err = summary(capsys, "--append", "log.jsonl")
    assert code == 2 and "--reanchor" in err
    code, out, _ = run(capsys, "anchor", "--reanchor", "log.jsonl")
    assert code == 0 and "seq=3 " in out
    assert run(capsys, "verify", "log.jsonl")[0] == 0


def test_strict_and_allow_unsigned_contradict(workdir, capsys):
    summary(capsys, "--append", "log.jsonl")
    code, _, err = run(capsys, "verify", "--strict", "--allow-unsigned", "log.jsonl")
    assert code == 2 and "--strict" in err and err.count("\n") == 1
