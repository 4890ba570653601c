"""`tradeops decision-log summary|verify|anchor|rotate-key|tail|show|repair|script`
(script = the runbook's raw argv)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click

from tradeops.cli.options import config_path_option, environment_option
from tradeops.config.load import DEFAULT_CONFIG_PATH
from tradeops.config.models import DecisionLogConfig
from tradeops.domain.errors import UserInputError

F = TypeVar("F", bound=Callable[..., Any])
STDOUT = "-"


def key_options(func: F) -> F:
    """--hmac-key, --hmac-key-file, --hmac-key-id (each also from its TRADEOPS_DECISION_LOG_* env)."""
    func = click.option("--hmac-key-id", help="Key id (or env TRADEOPS_DECISION_LOG_KEY_ID).")(func)
    func = click.option("--hmac-key-file", help="Key file (or env TRADEOPS_DECISION_LOG_KEY_FILE).")(func)
    return click.option("--hmac-key", help="Key value (or env TRADEOPS_DECISION_LOG_KEY).")(func)


config_option = config_path_option("Configuration file (default log path, key id, algorithm).")
algorithm_option = click.option(
    "--hash-algorithm",
    type=click.Choice(["sha256", "sha384"]),
    default=None,
    help="HMAC and artefact digests [default: decision_log.hash_algorithm].",
)


def _settings(config_path: Path) -> DecisionLogConfig:
    """decision_log settings; built-in defaults when the default config file is absent."""
    if config_path == DEFAULT_CONFIG_PATH and not config_path.exists():
        return DecisionLogConfig()
    if not config_path.is_file():
        raise UserInputError(f"--config {config_path}: file not found")
    from tradeops.config.load import load_config

    return load_config(config_path).decision_log


def _signing_key(
    settings: DecisionLogConfig,
    *,
    key: str | None,
    key_file: str | None,
    key_id: str | None,
    algorithm: str | None = None,
    allow_unsigned: bool = False,
    log_path: Path | None = None,
) -> Any:
    from tradeops.decision_log.keys import resolve_signing_key

    return resolve_signing_key(
        key=key,
        key_file=key_file,
        key_id=key_id,
        algorithm=algorithm or settings.hash_algorithm,
        allow_unsigned=allow_unsigned,
        default_key_id=settings.key_id,
        default_key_file=settings.key_file,
        log_path=log_path,
    )


@click.group("decision-log")
def decision_log() -> None:
    """Signed, hash-chained decision log: append, verify, read, repair."""


@decision_log.command()
@click.option(
    "--append",
    "append_to",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[PATH]",
    help="Append to PATH (bare --append: decision_log.operations_log). Without it, print the entry.",
)
@click.option("--stage", required=True, help="Stage, e.g. stage4.")
@click.option("--status", required=True, help="Status, e.g. rollback_completed, restored, disabled.")
@click.option("--kind", default="snapshot", show_default=True, help="Kind, e.g. config_change, incident.")
@click.option("--timestamp", help="ISO 8601 [default: now, UTC].")
@click.option("--summary-json", help="JSON with a 'summary' object, hashed canonically into the artefacts.")
@click.option("--summary-hash-key", help="Artefact key for that digest [default: summary_<alg>].")
@algorithm_option
@click.option(
    "--artefact", "artefacts", multiple=True, metavar="K=V", help="V is parsed as JSON if it parses."
)
@click.option(
    "--artefact-from-file", "artefact_files", multiple=True, metavar="K=PATH", help="<alg>:<file digest>."
)
@click.option("--metadata", multiple=True, metavar="K=V", help="V is parsed as JSON if it parses.")
@click.option("--tag", "tags", multiple=True, help="Repeatable; stripped and de-duplicated.")
@click.option("--runtime-flag", "runtime_flags", multiple=True, metavar="F[=true|false]")
@key_options
@click.option("--allow-unsigned", is_flag=True, help="Write without a key (the entry is not signed).")
@config_option
def summary(
    append_to: str | None,
    hash_algorithm: str | None,
    hmac_key: str | None,
    hmac_key_file: str | None,
    hmac_key_id: str | None,
    allow_unsigned: bool,
    config_path: Path,
    **fields: Any,
) -> int:
    """Append one signed operator entry (at least one artefact); every input is checked first."""
    from tradeops.decision_log.keys import check_algorithm
    from tradeops.decision_log.summary import SummaryRequest, append_summary, build_summary, standalone_line

    settings = _settings(config_path)
    algorithm = check_algorithm(hash_algorithm or settings.hash_algorithm)
    path = None if append_to is None or append_to == STDOUT else Path(append_to or settings.operations_log)
    key = _signing_key(
        settings,
        key=hmac_key,
        key_file=hmac_key_file,
        key_id=hmac_key_id,
        algorithm=algorithm,
        allow_unsigned=allow_unsigned,
        log_path=path,
    )
    entry = build_summary(SummaryRequest(hash_algorithm=algorithm, **fields))
    if path is None:
        click.echo(standalone_line(entry, key, algorithm).decode("utf-8"))
        return 0
    written, head = append_summary(
        entry, path, key, algorithm=algorithm, max_line_bytes=settings.max_line_bytes
    )
    click.echo(f"appended {written['status']} to {path} (seq {written['seq']}, head {head})")
    return 0


def _verification_keys(
    keyring_path: str | None,
    key: str | None,
    key_file: str | None,
    key_id: str | None,
    environ: Mapping[str, str],
    default_key_file: str | None = None,
) -> dict[str, Any]:
    """Keyring entries plus the single flag/env/key-file key (under its explicit id, or for any id)."""
    from tradeops.decision_log.keys import ANY_KEY_ID, ENV_KEY_ID, load_keyring, resolve_signing_key

    keyring: dict[str, Any] = dict(load_keyring(keyring_path)) if keyring_path else {}
    single = resolve_signing_key(
        key=key,
        key_file=key_file,
        key_id=key_id,
        allow_unsigned=True,
        environ=environ,
        default_key_file=None if keyring else default_key_file,
    )
    if single is not None:
        explicit_id = key_id or environ.get(ENV_KEY_ID)
        keyring[explicit_id or ANY_KEY_ID] = single
    return keyring


def _verify_notes(result: Any) -> list[str]:
    notes = []
    if result.unsigned:
        notes.append(f"{result.unsigned} unsigned entries accepted (--allow-unsigned)")
    if result.anchor_seq is None:
        notes.append("anchor not checked (--no-anchor): truncation or an older copy would not be detected")
    elif result.entries > result.anchor_seq:
        notes.append(
            f"{result.entries - result.anchor_seq} entries after the anchor (seq {result.anchor_seq}): "
            "written since its last update"
        )
    if result.rotations:
        notes.append(f"{result.rotations} key rotations followed")
    if result.expect_head_line is not None:
        notes.append(f"expected head found at line {result.expect_head_line}")
    return notes


@decision_log.command()
@click.option(
    "--strict",
    is_flag=True,
    help="Kept for runbooks: verification is always strict (not with --allow-unsigned).",
)
@click.option("--keyring", "keyring_path", help="JSON/YAML mapping key_id -> secret or {file: PATH}.")
@click.option(
    "--expect-head", help="A head printed earlier (or an `anchor` line): the log must still contain it."
)
@click.option("--allow-unsigned", is_flag=True, help="Accept entries carrying no signature (counted).")
@click.option("--no-anchor", is_flag=True, help="Skip the anchor check (truncation is then not detected).")
@click.option(
    "--max-line-bytes",
    type=click.IntRange(min=1024),
    default=None,
    help="Line cap [default: decision_log.max_line_bytes, 1 MiB].",
)
@click.option(
    "--stream",
    "stream",
    is_flag=True,
    help="Cluster mode: verify the environment's mirrored log in JetStream, and each PATH against it.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Processes for one large log (split at line boundaries; same result) [default: the CPUs].",
)
@environment_option("With --stream.")
@key_options
@config_option
@click.argument("paths", nargs=-1)
def verify(
    stream: bool,
    jobs: int | None,
    environment: str,
    strict: bool,
    keyring_path: str | None,
    expect_head: str | None,
    allow_unsigned: bool,
    no_anchor: bool,
    max_line_bytes: int | None,
    hmac_key: str | None,
    hmac_key_file: str | None,
    hmac_key_id: str | None,
    config_path: Path,
    paths: tuple[str, ...],
) -> int:
    """Check bytes, chain, signatures, rotations and anchor: `OK: N entries, head H` (exit 0) or
    the first bad line (exit 1)."""
    from tradeops.decision_log.keys import NO_KEY_MESSAGE
    from tradeops.decision_log.parallel_verify import verify_file_parallel

    if strict and allow_unsigned:
        raise UserInputError("--strict refuses unsigned entries: drop --allow-unsigned or --strict")
    settings = _settings(config_path)
    keyring = _verification_keys(
        keyring_path, hmac_key, hmac_key_file, hmac_key_id, os.environ, settings.key_file
    )
    if not keyring and not allow_unsigned:
        raise UserInputError(NO_KEY_MESSAGE.replace("signing key", "verification key") + " or --keyring FILE")
    if not paths and not stream:
        raise click.UsageError("give the log file(s) to verify, or --stream")
    if stream and not _verify_stream(config_path, environment, paths, keyring, allow_unsigned):
        return 1
    for index, path in enumerate(paths):
        result = verify_file_parallel(
            path,
            keyring=keyring,
            expect_head=expect_head if index == len(paths) - 1 else None,
            allow_unsigned=allow_unsigned,
            check_anchor=not no_anchor,
            max_line_bytes=max_line_bytes or settings.max_line_bytes,
            jobs=jobs,
        )
        if not result.ok:
            click.echo(f"FAIL: {path}:{result.first_error_line}: {result.reason}")
            return 1
        suffix = f" ({path})" if len(paths) > 1 else ""
        click.echo(f"OK: {result.entries} entries, head {result.head}{suffix}")
        for note in _verify_notes(result):
            click.echo(f"note: {note}", err=True)
    return 0


def _verify_stream(
    config_path: Path, environment: str, paths: tuple[str, ...], keyring: Any, allow_unsigned: bool
) -> bool:
    """The cluster's copy: every entry present, the chain and signatures good, each PATH a prefix
    (an operations log: at its host's entry of the merged anchor)."""
    import tempfile

    from tradeops.bootstrap.cluster_audit import check_copies, download_stream
    from tradeops.config.load import load_config
    from tradeops.decision_log.verify import verify_file

    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / f"{environment}.stream.jsonl"
        found = download_stream(load_config(config_path), environment, copy)
        if found.missing:
            click.echo(
                f"FAIL: stream {environment}: message {found.missing[0]} was deleted from the stream "
                "(or does not continue the previous one)"
            )
            return False
        result = verify_file(copy, keyring=keyring, allow_unsigned=allow_unsigned, check_anchor=False)
        if not result.ok:
            click.echo(f"FAIL: stream {environment}:{result.first_error_line}: {result.reason}")
            return False
        click.echo(f"OK: stream {environment}: {result.entries} entries, head {result.head}")
        ok, report = check_copies(found, copy, [Path(p) for p in paths], keyring, allow_unsigned)
        for line in report:
            click.echo(line)
    return ok


@decision_log.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--reanchor",
    is_flag=True,
    help="Verify the log without its anchor, then anchor its current head (a lost anchor); logged.",
)
@click.option("--keyring", "keyring_path", help="JSON/YAML mapping key_id -> secret or {file: PATH}.")
@key_options
@config_option
def anchor(
    path: Path,
    reanchor: bool,
    keyring_path: str | None,
    hmac_key: str | None,
    hmac_key_file: str | None,
    hmac_key_id: str | None,
    config_path: Path,
) -> int:
    """Print the signed head of PATH in one line (log id, seq, head), e.g. for a ticket."""
    from tradeops.decision_log.anchor import read_anchor
    from tradeops.decision_log.rotation import reanchor_log

    settings = _settings(config_path)
    keyring = _verification_keys(
        keyring_path, hmac_key, hmac_key_file, hmac_key_id, os.environ, settings.key_file
    )
    if reanchor:
        key = _signing_key(settings, key=hmac_key, key_file=hmac_key_file, key_id=hmac_key_id, log_path=path)
        reanchor_log(path, key, keyring or {key.key_id: key}, settings.max_line_bytes)
    found, problem = read_anchor(path, keyring, allow_unsigned=not keyring)
    if problem is not None:
        click.echo(f"FAIL: {problem}")
        return 1
    if found is None:
        raise UserInputError(f"decision log {path}: no anchor {path}.anchor (no entries written yet?)")
    click.echo(found.one_line(path))
    return 0


@decision_log.command("rotate-key")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--new-key-file", required=True, help="File holding the new key (keep it mode 600).")
@click.option("--new-key-id", required=True, help="Id of the new key, e.g. ops-2027q1.")
@click.option("--reason", required=True, help="Why the key changes (scheduled, suspected leak, ...).")
@key_options
@config_option
def rotate_key(
    path: Path,
    new_key_file: str,
    new_key_id: str,
    reason: str,
    hmac_key: str | None,
    hmac_key_file: str | None,
    hmac_key_id: str | None,
    config_path: Path,
) -> int:
    """Append a key_rotation entry signed by the new key and endorsed by the current one."""
    from tradeops.decision_log.keys import SigningKey, read_key_file
    from tradeops.decision_log.rotation import rotate_log_key

    settings = _settings(config_path)
    old = _signing_key(settings, key=hmac_key, key_file=hmac_key_file, key_id=hmac_key_id, log_path=path)
    if not new_key_id.strip() or not reason.strip():
        raise UserInputError("--new-key-id and --reason must not be empty")
    new = SigningKey(new_key_id.strip(), read_key_file(new_key_file, "--new-key-file"), old.algorithm)
    entry = rotate_log_key(path, old, new, reason=reason.strip(), max_line_bytes=settings.max_line_bytes)
    click.echo(
        f"rotated {path} from key {old.key_id!r} to {new.key_id!r} at seq {entry['seq']}; sign from now on "
        f"with {new_key_file} (id {new.key_id}); verify with a --keyring holding both keys"
    )
    return 0


def _one_line(entry: dict[str, Any]) -> str:
    artefacts = " ".join(
        f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in entry.get("artefacts", {}).items()
    )
    signed = (
        entry.get("signature", {}).get("key_id", "UNSIGNED")
        if isinstance(entry.get("signature"), dict)
        else "?"
    )
    return (
        f"{entry.get('seq')}\t{entry.get('timestamp')}\t{entry.get('stage')}\t{entry.get('kind')}\t"
        f"{entry.get('status')}\t{artefacts}\t[{signed}]"
    )


@decision_log.command("tail")
@click.argument("path")
@click.option("-n", "--lines", "count", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON lines.")
def tail_command(path: str, count: int, as_json: bool) -> int:
    """Print the last entries (not verified: use `verify` for that)."""
    from tradeops.decision_log.reader import tail

    for entry in tail(path, count):
        click.echo(json.dumps(entry, ensure_ascii=False, sort_keys=True) if as_json else _one_line(entry))
    return 0


@decision_log.command()
@click.argument("path")
@click.argument("seq", type=click.IntRange(min=1))
def show(path: str, seq: int) -> int:
    """Pretty-print the entry with sequence number SEQ."""
    from tradeops.decision_log.reader import iter_entries

    for _number, entry in iter_entries(path):
        if entry.get("seq") == seq:
            click.echo(json.dumps(entry, ensure_ascii=False, sort_keys=True, indent=2))
            return 0
    raise UserInputError(f"decision log {path}: no entry with seq {seq}")


@decision_log.command()
@click.argument("path")
@click.option("--stage", help="Stage of the log_repair entry [default: the log file's name].")
@algorithm_option
@key_options
@click.option("--allow-unsigned", is_flag=True, help="Write the log_repair entry without a key.")
@config_option
def repair(
    path: str,
    stage: str | None,
    hash_algorithm: str | None,
    hmac_key: str | None,
    hmac_key_file: str | None,
    hmac_key_id: str | None,
    allow_unsigned: bool,
    config_path: Path,
) -> int:
    """Move a torn last line to PATH.torn-<time> and record the repair as a signed entry."""
    from tradeops.decision_log.repair import repair_log

    settings = _settings(config_path)
    key = _signing_key(
        settings,
        key=hmac_key,
        key_file=hmac_key_file,
        key_id=hmac_key_id,
        algorithm=hash_algorithm,
        allow_unsigned=allow_unsigned,
        log_path=Path(path),
    )
    outcome = repair_log(path, key, stage=stage, max_line_bytes=settings.max_line_bytes)
    if outcome is None:
        click.echo(f"nothing to repair: {path} ends with a complete entry")
        return 0
    info, entry = outcome
    click.echo(
        f"repaired {path}: moved {info.torn_bytes} bytes from line {info.first_line} to {info.quarantine}; "
        f"appended log_repair (seq {entry['seq']})"
    )
    return 0


@decision_log.command(
    context_settings={
        "ignore_unknown_options": True,
        "allow_extra_args": True,
        "allow_interspersed_args": False,
    },
    add_help_option=False,
)
@click.pass_context
def script(ctx: click.Context) -> int:
    """Runbook entry (scripts/verify_decision_log.py): `summary ARGS` appends, anything else verifies."""
    args = list(ctx.args)
    prog = ctx.find_root().info_name or "verify_decision_log.py"
    if args[:1] == ["summary"]:
        return int(summary.main(args=args[1:], prog_name=f"{prog} summary", standalone_mode=False) or 0)
    return int(verify.main(args=args, prog_name=prog, standalone_mode=False) or 0)
