"""scripts/dev/ensure-tools.sh, the installer `make test` runs first: only what is missing, one line
per thing installed, silent when all is there, no daemon started, and not root: the command to run."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.conftest import require_service

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "dev" / "ensure-tools.sh"
BASH = shutil.which("bash") or "/bin/bash"
TOOLS = (
    *("promtool", "prometheus", "amtool", "prometheus-alertmanager", "pg_ctlcluster", "node", "npm"),
    "nats-server",
    "chromium",
)
# What the script uses besides the tools it checks for.
UTILITIES = (
    *("dirname", "mkdir", "readlink", "flock", "mktemp", "cp", "chmod", "mv", "rm", "tail", "grep"),
    *("cat", "seq", "sleep", "ls", "sort", "stat", "pg_isready", "psql", "createdb", "su", "env", "sh"),
)
FAKE_APT = """#!/bin/sh
# Records each call and the policy-rc.d in force; `install` puts stand-ins of the packages' binaries on PATH.
echo "$*" >> "$FAKE_LOG"
cat "$TRADEOPS_POLICY_RC_D" > "$FAKE_POLICY_SEEN" 2>/dev/null || echo none > "$FAKE_POLICY_SEEN"
case " $* " in
  *" install "*)
    for tool in promtool prometheus; do
      printf '#!/bin/sh\\n' > "$FAKE_BIN/$tool" && chmod +x "$FAKE_BIN/$tool"
    done ;;
esac
"""


def _run(env: dict[str, str], *prefix: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, BASH, str(SCRIPT)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _bin_with(tmp_path: Path, names: tuple[str, ...]) -> Path:
    """A PATH directory holding only `names` (links to the real ones)."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    for name in names:
        real = shutil.which(name)
        require_service(real is not None, f"binary {name!r} (for this test's PATH)")
        assert real is not None
        (fake_bin / name).symlink_to(real)
    return fake_bin


def test_everything_present_prints_nothing() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    require_service(not missing, f"{', '.join(missing)} (installed by `make tools`)")
    done = _run(dict(os.environ))
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_not_root_prints_the_one_install_command() -> None:
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        pytest.skip("needs root and setpriv to run the script as another user")
    with tempfile.TemporaryDirectory() as scratch:  # pytest's tmp_path is root-only
        os.chmod(scratch, 0o755)
        _not_root(Path(scratch), setpriv)


def _not_root(tmp_path: Path, setpriv: str) -> None:
    fake_bin = _bin_with(tmp_path, ("dirname",))
    for present in ("promtool", "prometheus", "npm"):  # present here: not asked for
        (fake_bin / present).write_text("#!/bin/sh\n")
        (fake_bin / present).chmod(0o755)
    fake_bin.chmod(0o755)
    env = {"PATH": str(fake_bin), "HOME": str(tmp_path)}
    done = _run(env, setpriv, "--reuid=65534", "--regid=65534", "--clear-groups")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == (
        "ensure-tools: missing amtool prometheus-alertmanager pg_ctlcluster node nats-server chromium; "
        "install them with: sudo apt-get update && sudo apt-get install -y --no-install-recommends "
        "prometheus-alertmanager postgresql nodejs nats-server chromium\n"
    )


@pytest.mark.parametrize("had_policy", [True, False], ids=["policy-kept", "policy-removed"])
def test_root_installs_only_what_is_missing_with_daemons_denied(tmp_path: Path, had_policy: bool) -> None:
    if os.geteuid() != 0:
        pytest.skip("the install branch runs as root only")
    present = tuple(t for t in TOOLS if t not in {"promtool", "prometheus"})
    fake_bin = _bin_with(tmp_path, (*UTILITIES, *present))
    (fake_bin / "apt-get").write_text(FAKE_APT)
    (fake_bin / "apt-get").chmod(0o755)
    policy = tmp_path / "policy-rc.d"
    if had_policy:
        policy.write_text("#!/bin/sh\nexit 0\n")
    env = {
        **os.environ,
        "PATH": str(fake_bin),
        "FAKE_BIN": str(fake_bin),
        "FAKE_LOG": str(tmp_path / "apt-calls"),
        "FAKE_POLICY_SEEN": str(tmp_path / "policy-seen"),
        "TRADEOPS_POLICY_RC_D": str(policy),
        "TRADEOPS_TOOLS_LOCK": str(tmp_path / "lock"),
        "TRADEOPS_DEV_STATE_DIR": str(tmp_path / "state"),
    }
    first = _run(env)
    assert (first.returncode, first.stderr) == (0, "")
    assert first.stdout == "ensure-tools: installed prometheus (apt-get)\n"
    calls = (tmp_path / "apt-calls").read_text().splitlines()
    assert [c.split()[-1] for c in calls] == ["update", "prometheus"]  # update once, then only the missing
    assert "install --no-install-recommends prometheus" in calls[1]
    assert (tmp_path / "policy-seen").read_text().endswith("exit 101\n")  # no daemon may start meanwhile
    assert policy.read_text() == "#!/bin/sh\nexit 0\n" if had_policy else not policy.exists()

    second = _run(env)
    assert (second.returncode, second.stdout, second.stderr) == (0, "", "")
    assert len((tmp_path / "apt-calls").read_text().splitlines()) == 2
