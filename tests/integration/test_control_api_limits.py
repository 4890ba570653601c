"""`tradeops api serve` as its own process, attacked over real TLS sockets: oversized headers and
bodies are refused, slow clients (headers or TLS handshake) are dropped within the configured
timeout, and hostile JSON gets 422, never a 500. Issue 14, "Control plane and config"."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.integration.test_control_api_support import (
    SCHEDULER_SECRET,
    TOKEN_ENV,
    make_workspace,
    running_api,
)
from tradeops.config.models import ControlApiLimits
from tradeops.control_api.server import MtlsH11Protocol
from tradeops.control_api.tls import client_context

HEADER_TIMEOUT_S = 1.0
MAX_HEADER_BYTES = 8192
MAX_BODY_BYTES = 4096
LIMITS = (
    "  limits: {"
    f"header_timeout_seconds: {HEADER_TIMEOUT_S}, max_header_bytes: {MAX_HEADER_BYTES}, "
    f"max_body_bytes: {MAX_BODY_BYTES}, max_header_count: 50, keep_alive_seconds: 1, "
    f"body_timeout_seconds: {HEADER_TIMEOUT_S}"
    "}\n"
)
DROP_DEADLINE_S = 15.0  # generous bound for a loaded CI machine; the configured timeout is 1 s
AUTH = f"Authorization: Bearer {SCHEDULER_SECRET}\r\n"


@dataclass
class Server:
    port: int
    tls: ssl.SSLContext
    process: subprocess.Popen[str]

    def connect(self) -> ssl.SSLSocket:
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=DROP_DEADLINE_S)
        return self.tls.wrap_socket(raw, server_hostname="127.0.0.1")

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=f"https://127.0.0.1:{self.port}", verify=self.tls, timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root, layout, _ = make_workspace(tmp_path_factory.mktemp("api-limits"))
    config = root / "config" / "core.yaml"
    text = config.read_text()
    config.write_text(text.replace("  nice: 10", LIMITS + "  nice: 10", 1))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEOPS_")} | TOKEN_ENV
    argv = [sys.executable, "-m", "tradeops.cli.main", "api", "serve", "--port", str(port)]
    process = subprocess.Popen(argv, cwd=root, env=env, stderr=subprocess.PIPE, text=True)
    running = Server(port, client_context(layout.ca_cert, *layout.client("operator")), process)
    try:
        _wait_ready(running)
        yield running
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)


def _wait_ready(server: Server) -> None:
    deadline = time.monotonic() + 30
    with server.client() as client:
        while True:
            try:
                client.get("/health")
                return
            except httpx.TransportError:
                assert server.process.poll() is None and time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)


def _read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes (bounded by the socket timeout)."""
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except (ConnectionResetError, ssl.SSLError):
        pass
    return b"".join(chunks)


def _status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def test_one_megabyte_of_headers_is_refused_and_the_connection_closed(server: Server) -> None:
    with server.connect() as sock:
        request = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 1_048_576 + b"\r\n\r\n"
        # The server may close before it has read everything.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, ssl.SSLError):
            sock.sendall(request)
        assert _status(_read_all(sock)) == 431


def test_headers_just_over_the_limit_in_one_packet_are_refused(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * MAX_HEADER_BYTES + b"\r\n\r\n")
        assert _status(_read_all(sock)) == 431
    with server.connect() as sock:
        many = b"".join(b"X-%d: 1\r\n" % i for i in range(60))
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
        assert _status(_read_all(sock)) == 431


def test_slow_loris_clients_are_dropped_and_the_server_keeps_serving(server: Server) -> None:
    clients = [server.connect() for _ in range(20)]
    for sock in clients:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        sock.setblocking(False)
    dropped: dict[int, bytes] = {}
    started = time.monotonic()
    while len(dropped) < len(clients) and time.monotonic() - started < DROP_DEADLINE_S:
        for i, sock in enumerate(clients):
            if i in dropped:
                continue
            try:
                sock.sendall(b"X")  # one byte of a header that never ends
                data = sock.recv(4096)
            except (ssl.SSLWantReadError, BlockingIOError):
                continue
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
                data = b""
            dropped[i] = data
        time.sleep(0.2)
    for sock in clients:
        sock.close()
    assert len(dropped) == len(clients), f"{len(clients) - len(dropped)} slow clients still connected"
    assert any(data.startswith(b"HTTP/1.1 408") for data in dropped.values())
    with server.client() as client:
        assert client.get("/health").status_code == 200


def test_a_client_that_never_finishes_the_tls_handshake_is_dropped(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=DROP_DEADLINE_S) as raw:
        raw.sendall(b"\x16\x03\x01")  # the first bytes of a ClientHello, then nothing
        assert raw.recv(1024) == b""  # closed by the server (a timeout here raises instead)


def test_kept_alive_connection_idle_between_requests_then_slow_is_dropped(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # a second request that never ends
        assert _status(_read_all(sock)) == 408


def test_a_body_that_never_finishes_is_dropped(server: Server) -> None:
    with server.connect() as sock:
        head = (
            f"POST /v1/strategies/daily_trend/disable HTTP/1.1\r\nHost: x\r\n{AUTH}"
            "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        )
        sock.sendall(head.encode() + b'{"reason": ')  # then nothing: a slow POST
        assert _status(_read_all(sock)) == 408


def test_an_idle_kept_alive_connection_is_closed(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")  # keep-alive by default
        # _read_all returns only once the server closes (after keep_alive_seconds; a hang times out).
        assert _read_all(sock).startswith(b"HTTP/1.1 200")


def test_json_nested_beyond_the_parser_is_a_client_error(server: Server) -> None:
    body = b'{"reason": ' + b"[" * 2000 + b"]" * 2000 + b', "ticket": "T"}'
    with server.connect() as sock:
        assert _status(_post(sock, "/v1/strategies/daily_trend/disable", body)) in (400, 422)


def _post(sock: ssl.SSLSocket, path: str, body: bytes, extra: bytes = b"") -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\n{AUTH}Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n"
    ).encode()
    sock.sendall(head + extra + b"\r\n" + body)
    return _read_all(sock)


def test_oversized_bodies_get_413(server: Server) -> None:
    body = json.dumps({"reason": "x" * (MAX_BODY_BYTES * 2), "ticket": "T"}).encode()
    with server.connect() as sock:
        assert _status(_post(sock, "/v1/strategies/daily_trend/disable", body)) == 413
    with server.client() as client:

        def chunks() -> Iterator[bytes]:
            for _ in range(4):
                yield b" " * MAX_BODY_BYTES

        response = client.post(
            "/v1/strategies/daily_trend/disable",
            content=chunks(),
            headers={"Authorization": f"Bearer {SCHEDULER_SECRET}", "Content-Type": "application/json"},
        )
        assert response.status_code == 413


@pytest.mark.parametrize(
    "body",
    [
        b'{"reason": NaN, "ticket": "T"}',
        b'{"reason": "r", "ticket": "T", "duration_minutes": Infinity}',
        b'{"reason": "r", "ticket": "T", "duration_minutes": -Infinity, "extra": NaN}',
        b'{"reason": "r", "ticket": "T", "duration_minutes": NaN}',
        b'{"reason": "r"',
        b"[]",
        b'"just a string"',
        b"\xff\xfe",
        b'{"reason": "r", "ticket": "T", "duration_minutes": 1e999}',
    ],
)
def test_hostile_json_gets_422_never_500(server: Server, body: bytes) -> None:
    with server.connect() as sock:
        response = _post(sock, "/v1/strategies/daily_trend/disable", body)
    assert _status(response) == 422, response[:300]
    detail = json.loads(response.split(b"\r\n\r\n", 1)[1])
    assert detail["detail"]


def test_the_server_survived_everything(server: Server) -> None:
    assert server.process.poll() is None
    with server.client() as client:
        response = client.get("/v1/status", headers={"Authorization": f"Bearer {SCHEDULER_SECRET}"})
        assert response.status_code == 200


def test_writes_need_a_reason_and_never_overwrite_a_disable_silently(server: Server) -> None:
    auth = {"Authorization": f"Bearer {SCHEDULER_SECRET}"}
    url = "/v1/strategies/mean_reversion/disable"
    with server.client() as client:
        blank = client.post(url, json={"reason": "   ", "ticket": "INC-1"}, headers=auth)
        assert blank.status_code == 400 and "must not be blank" in blank.json()["detail"]
        assert (
            client.post(url, json={"reason": "bad fills", "ticket": "INC-1"}, headers=auth).status_code == 200
        )
        second = client.post(url, json={"reason": "other", "ticket": "INC-2"}, headers=auth)
        assert second.status_code == 409 and "bad fills" in second.json()["detail"]
        status = client.get("/v1/status", headers=auth).json()
        (shown,) = [s for s in status["disabled_strategies"] if s["strategy"] == "mean_reversion"]
        assert (shown["reason"], shown["ticket"]) == ("bad fills", "INC-1")
        body = {"reason": "other", "ticket": "INC-2", "replace": True}
        assert client.post(url, json=body, headers=auth).json()["reason"] == "other"
        created = client.post("/v1/override", json={"reason": "drill"}, headers=auth)
        assert created.status_code == 201
        refused = client.delete("/v1/override", params={"reason": " "}, headers=auth)
        assert refused.status_code == 400
        assert client.delete("/v1/override", params={"reason": "done"}, headers=auth).json() == {
            "removed": True
        }


def _connect(tls: ssl.SSLContext, port: int) -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", port), timeout=DROP_DEADLINE_S)
    return tls.wrap_socket(raw, server_hostname="127.0.0.1")


def test_h11_fallback_enforces_the_header_timeout_and_size(tmp_path: Path) -> None:
    limits = ControlApiLimits(header_timeout_seconds=HEADER_TIMEOUT_S, max_header_bytes=MAX_HEADER_BYTES)
    with running_api(tmp_path, protocol=MtlsH11Protocol, limits=limits) as api:
        port = int(api.base_url.rsplit(":", 1)[1])
        with _connect(api.tls(), port) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            assert _status(_read_all(sock)) == 408
        with _connect(api.tls(), port) as sock:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError, ssl.SSLError):
                sock.sendall(b"GET /health HTTP/1.1\r\nX-Big: " + b"a" * 1_048_576 + b"\r\n\r\n")
            assert _status(_read_all(sock)) in (400, 431)


def test_connections_beyond_max_connections_get_503(tmp_path: Path) -> None:
    with running_api(tmp_path, limits=ControlApiLimits(max_connections=2)) as api:
        port = int(api.base_url.rsplit(":", 1)[1])
        held = [_connect(api.tls(), port) for _ in range(2)]
        try:
            with _connect(api.tls(), port) as sock:
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                assert _status(_read_all(sock)) == 503
        finally:
            for sock in held:
                sock.close()
