"""A stand-alone metrics server for watcher tests: `python -m tests.fake_exporter SCENARIO`.

It serves a tradeops-shaped exposition whose counters advance by one step per scrape, so what a
watcher sees depends only on how many times it scraped, not on timing. Scenarios: `quiet` (cycles
fast, every order filled) and `adapter_failures` (five exchange errors per scrape as well). It
prints its port on the first line of stdout and serves until killed.
"""

from __future__ import annotations

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SCENARIOS = ("quiet", "adapter_failures")
BUCKETS = ("0.01", "0.25", "1.0", "+Inf")


def exposition(scrapes: int, scenario: str) -> str:
    lines = ["# TYPE tradeops_strategy_orders_total counter", "# TYPE tradeops_strategy_fills_total counter"]
    for name in ("orders", "fills"):
        lines.append(
            f'tradeops_strategy_{name}_total{{strategy="daily_trend",risk_profile="balanced"}} {scrapes}'
        )
    lines.append("# TYPE tradeops_strategy_cycle_latency_seconds histogram")
    for le in BUCKETS:
        lines.append(
            "tradeops_strategy_cycle_latency_seconds_bucket"
            f'{{strategy="daily_trend",risk_profile="balanced",le="{le}"}} {scrapes * 10}'
        )
    labels = '{strategy="daily_trend",risk_profile="balanced"}'
    lines.append(f"tradeops_strategy_cycle_latency_seconds_count{labels} {scrapes * 10}")
    lines.append(f"tradeops_strategy_cycle_latency_seconds_sum{labels} {scrapes * 0.05}")
    errors = scrapes * 5 if scenario == "adapter_failures" else 0
    lines += [
        "# TYPE tradeops_exchange_errors_total counter",
        f'tradeops_exchange_errors_total{{exchange="binance",kind="temporary"}} {errors}',
        "# TYPE tradeops_override_active gauge",
        "tradeops_override_active 0",
        "# TYPE tradeops_override_malformed gauge",
        "tradeops_override_malformed 0",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    scenario = argv[0] if argv else "quiet"
    if scenario not in SCENARIOS:
        print(f"scenario {scenario!r}: choose one of {', '.join(SCENARIOS)}", file=sys.stderr)
        return 2
    scrapes = 0

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            nonlocal scrapes
            scrapes += 1
            body = exposition(scrapes, scenario).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
