"""The exchange simulator as a real subprocess on a free 127.0.0.1 port, with bounded waits."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 30.0


class SimProcess:
    def __init__(self, *extra: str) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tradeops.cli.main",
                "exchange-sim",
                "serve",
                "--port",
                "0",
                "--step-ms",
                "0",
                *extra,
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.port = self._wait_for_port()
        keys = self.admin("keys")
        self.api_key, self.secret = keys["api_key"], keys["secret"]

    def _wait_for_port(self) -> int:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                if self.proc.poll() is not None:
                    raise AssertionError(f"simulator exited with {self.proc.returncode}")
                continue
            found = re.search(r"http://127\.0\.0\.1:(\d+)", line)
            if found:
                return int(found.group(1))
        self.stop()
        raise AssertionError(f"simulator did not start within {START_TIMEOUT_S}s")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def admin(self, action: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}/_sim/{action}", data=data, method="GET" if data is None else "POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
