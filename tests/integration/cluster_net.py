"""Where the cluster tests' hosts live: each in its own network namespace with veth links where the
machine allows it (root, `ip netns`), on loopback otherwise.

Namespaces: nats-server runs alone in one namespace; each host's namespace has two links, one to
the NATS namespace and one to the root namespace, where a TCP forwarder bound to the link's root
address carries PostgreSQL (which listens on 127.0.0.1). The test process reaches NATS over a link
of its own. Partitioning a host from NATS sets its NATS link down (PostgreSQL stays reachable);
healing sets it up. Loopback: a host to be partitioned reaches NATS through a forwarder that is
SIGSTOPped.

Every namespace's name carries the creating process id: teardown deletes them (and with them the
veth pairs) on success and failure alike, and a run first deletes those left by a process that is
gone (a killed pytest)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.integration.cluster_harness import NATS_SERVER, PG_URL, free_port, wait_port

IP = shutil.which("ip") or "/usr/sbin/ip"
PREFIX = "tot"  # namespace names: tot<pid>n (NATS), tot<pid>h<i> (hosts)
PROXY = str(Path(__file__).with_name("tcp_forward.py"))


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([IP, *args], capture_output=True, text=True, timeout=10, check=check)


def namespaces_available() -> bool:
    """Root, `ip` present, and a namespace with a veth pair can be made and entered here."""
    if os.geteuid() != 0 or not os.path.exists(IP):
        return False
    probe = f"{PREFIX}{os.getpid()}p"
    try:
        made = _ip("netns", "add", probe, check=False).returncode == 0
        if not made:
            return False
        pair = _ip("link", "add", "name", "a", "netns", probe, "type", "veth", "peer", "name", "b",
                   "netns", probe, check=False)  # fmt: skip
        if pair.returncode != 0:
            return False
        entered = subprocess.run([IP, "netns", "exec", probe, "true"], capture_output=True, timeout=10)
        return entered.returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        _ip("netns", "del", probe, check=False)


def sweep_stale() -> None:
    """Delete the namespaces a vanished test process left behind."""
    listed = _ip("netns", "list", check=False).stdout
    for name in re.findall(rf"^({PREFIX}(\d+)[nhp]\d*)", listed, flags=re.M):
        ns, pid = name
        if not Path(f"/proc/{pid}").exists():
            _ip("netns", "del", ns, check=False)


def forward(listen_host: str, listen_port: int, target: str, target_port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, PROXY, listen_host, str(listen_port), target, str(target_port)])
    wait_port(listen_port, host=listen_host)
    return proc


def _with_host(url: str, host: str, port: int) -> str:
    parts = urlsplit(url)
    userinfo = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit(parts._replace(netloc=f"{userinfo}{host}:{port}"))


@dataclass
class HostNet:
    """How one host reaches NATS and PostgreSQL, and the command prefix that runs on it."""

    nats_url: str
    pg_url: str  # PG_URL as seen from the host
    prefix: list[str] = field(default_factory=list)
    partitionable: bool = False


class LoopbackNet:
    kind = "loopback"

    def __init__(self, base: Path) -> None:
        self.base = base
        self.procs: list[subprocess.Popen[bytes]] = []
        self.nats_port = free_port()
        self.nats = subprocess.Popen(
            [NATS_SERVER, "-js", "-a", "127.0.0.1", "-p", str(self.nats_port),
             "-sd", str(base / "jetstream")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_port(self.nats_port)
        self.test_url = f"nats://127.0.0.1:{self.nats_port}"
        self._proxies: dict[str, subprocess.Popen[bytes]] = {}

    def host(self, name: str, partitionable: bool = False) -> HostNet:
        if not partitionable:
            return HostNet(self.test_url, PG_URL)
        port = free_port()
        proxy = forward("127.0.0.1", port, "127.0.0.1", self.nats_port)
        self._proxies[name] = proxy
        return HostNet(f"nats://127.0.0.1:{port}", PG_URL, partitionable=True)

    def partition(self, name: str) -> None:
        os.kill(self._proxies[name].pid, signal.SIGSTOP)

    def heal(self, name: str) -> None:
        os.kill(self._proxies[name].pid, signal.SIGCONT)

    def close(self) -> None:
        for proxy in self._proxies.values():
            proxy.send_signal(signal.SIGCONT)
            proxy.kill()
            proxy.wait()
        self.nats.terminate()
        self.nats.wait(timeout=10)


class NamespaceNet:
    kind = "netns"

    def __init__(self, base: Path) -> None:
        sweep_stale()
        self.tag = f"{PREFIX}{os.getpid()}"
        self.links = 0
        self.namespaces: list[str] = []
        self.root_devices: list[str] = []  # veth ends in the root namespace (named t<pid>...)
        self.forwarders: list[subprocess.Popen[bytes]] = []
        self.nats_ns = self._namespace("n")
        try:
            self.nats_port = free_port()
            with _allocation_lock():  # 10.<block>.<link>.0/30 per link; a block no one uses here
                self.block = _free_block()
                _test_side, nats_side = self._link(None, self.nats_ns, "tn")
            self.nats = subprocess.Popen(
                [IP, "netns", "exec", self.nats_ns, NATS_SERVER, "-js", "-a", "0.0.0.0",
                 "-p", str(self.nats_port), "-sd", str(base / "jetstream")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            wait_port(self.nats_port, host=nats_side)
        except BaseException:
            self._delete()
            raise
        self.test_url = f"nats://{nats_side}:{self.nats_port}"
        self._nats_links: dict[str, str] = {}  # host name -> its link's device in the NATS namespace
        pg = urlsplit(PG_URL)
        self._pg = (pg.hostname or "127.0.0.1", pg.port or 5432)

    def _namespace(self, suffix: str) -> str:
        name = f"{self.tag}{suffix}"
        _ip("netns", "add", name)
        self.namespaces.append(name)
        _ip("-n", name, "link", "set", "lo", "up")
        return name

    def _link(self, left: str | None, right: str, device: str) -> tuple[str, str]:
        """A veth pair between namespace `left` (None: the root one) and `right`, each end named
        `device` plus a side letter; returns (left address, right address)."""
        self.links += 1
        net = f"10.{self.block}.{self.links}"
        left_dev, right_dev = f"{device}{self.links}l", f"{device}{self.links}r"
        if left is None:
            left_dev = f"t{os.getpid()}{device}{self.links}"  # unique in the root namespace
            _ip("link", "add", "name", left_dev, "type", "veth", "peer", "name", right_dev, "netns", right)
            self.root_devices.append(left_dev)
            _ip("addr", "add", f"{net}.1/30", "dev", left_dev)
            _ip("link", "set", left_dev, "up")
        else:
            _ip("link", "add", "name", left_dev, "netns", left, "type", "veth", "peer", "name", right_dev,
                "netns", right)  # fmt: skip
            _ip("-n", left, "addr", "add", f"{net}.1/30", "dev", left_dev)
            _ip("-n", left, "link", "set", left_dev, "up")
        _ip("-n", right, "addr", "add", f"{net}.2/30", "dev", right_dev)
        _ip("-n", right, "link", "set", right_dev, "up")
        self._last_devices = (left_dev, right_dev)
        return f"{net}.1", f"{net}.2"

    def host(self, name: str, partitionable: bool = False) -> HostNet:
        ns = self._namespace(f"h{len(self.namespaces)}")
        nats_side, _host_side = self._link(self.nats_ns, ns, "n")
        self._nats_links[name] = self._last_devices[0]
        root_side, _ = self._link(None, ns, "p")
        port = free_port()
        self.forwarders.append(forward(root_side, port, *self._pg))
        return HostNet(
            f"nats://{nats_side}:{self.nats_port}",
            _with_host(PG_URL, root_side, port),
            [IP, "netns", "exec", ns],
            partitionable=True,
        )

    def partition(self, name: str) -> None:
        _ip("-n", self.nats_ns, "link", "set", self._nats_links[name], "down")

    def heal(self, name: str) -> None:
        _ip("-n", self.nats_ns, "link", "set", self._nats_links[name], "up")

    def close(self) -> None:
        try:
            for proc in self.forwarders:
                proc.kill()
                proc.wait()
            self.nats.terminate()
            self.nats.wait(timeout=10)
        finally:
            self._delete()

    def _delete(self) -> None:
        for ns in reversed(self.namespaces):
            _ip("netns", "del", ns, check=False)  # its veth ends go with it, and so their peers
        self.namespaces.clear()
        # The kernel removes a deleted namespace's devices (and their root-side peers) a moment
        # later: the next net of this process reuses the names, so wait until they are gone.
        deadline = time.monotonic() + 10.0
        while self.root_devices and time.monotonic() < deadline:
            self.root_devices = [
                d for d in self.root_devices if _ip("link", "show", "dev", d, check=False).returncode == 0
            ]
            if self.root_devices:
                time.sleep(0.02)
        for device in self.root_devices:  # still there after the wait: remove it ourselves
            _ip("link", "del", "dev", device, check=False)
        self.root_devices.clear()


@contextlib.contextmanager
def _allocation_lock() -> Iterator[None]:
    """Another test process (a pytest-xdist worker) picks its block after this one's is in use."""
    with open(Path(tempfile.gettempdir()) / "tradeops-test-netns.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _free_block() -> int:
    used = set(re.findall(r"inet 10\.(\d+)\.", _ip("-o", "-4", "addr", check=False).stdout))
    free = [b for b in range(100, 250) if str(b) not in used]
    if not free:
        raise RuntimeError("no free 10.x.0.0/16 block for the test namespaces")
    return random.choice(free)


def open_net(base: Path) -> LoopbackNet | NamespaceNet:
    """Namespaces where the machine allows them (TRADEOPS_TEST_NETNS=0 forces loopback)."""
    if os.environ.get("TRADEOPS_TEST_NETNS", "1") != "0" and namespaces_available():
        return NamespaceNet(base)
    return LoopbackNet(base)
