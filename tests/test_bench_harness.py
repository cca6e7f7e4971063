"""The benchmarks' arithmetic: percentiles, ABBA order and ratio, and the HTTP load driver's counts.

A benchmark's figures are only as good as these; they run without Django or a database.
"""

import itertools
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench._measure import Comparison, abba, abba_order, http_load, ms, p50, p95, percentile


def test_percentile_is_nearest_rank_of_unsorted_values():
    values = [7.0, 1.0, 10.0, 3.0, 5.0, 2.0, 9.0, 4.0, 8.0, 6.0]  # 1..10, shuffled
    assert percentile(values, 50) == 5.0
    assert percentile(values, 90) == 9.0
    assert percentile(values, 91) == 10.0
    assert percentile(values, 100) == 10.0
    assert percentile(values, 0) == 1.0


def test_p50_and_p95_are_values_of_the_sample():
    values = [float(n) for n in range(1, 21)]  # 1..20
    assert p50(values) == 10.0
    assert p95(values) == 19.0
    assert p50([0.25]) == p95([0.25]) == 0.25


def test_percentile_of_nothing_is_an_error_not_a_figure():
    with pytest.raises(ValueError, match="no values"):
        p95([])


def test_ms_shows_seconds_as_milliseconds():
    assert ms(0.0123) == "12"
    assert ms(0.0123, 2) == "12.30"


def test_abba_order_reverses_every_other_round():
    assert abba_order(("A", "B"), 2) == ["A", "B", "B", "A"]
    assert abba_order(("A", "B", "C"), 3) == ["A", "B", "C", "C", "B", "A", "A", "B", "C"]


def test_ratio_is_candidate_throughput_over_baseline():
    # The candidate takes twice as long for the same work: half the throughput.
    assert Comparison(baseline=[1.0, 1.0], candidate=[2.0, 2.0]).ratio == 0.5
    # Ratio of the totals, not a mean of per-pass ratios.
    assert Comparison(baseline=[1.0, 3.0], candidate=[2.0, 2.0]).ratio == 1.0


def test_abba_warms_up_then_times_each_side_in_abba_order(capsys):
    calls: list[str] = []
    readings = itertools.count()

    def clock() -> float:
        # One unit per reading, plus two per timed candidate pass so far (the first two calls are
        # the warm-up): a baseline pass lasts 1 unit, a candidate pass 3.
        return float(next(readings) + 2 * calls[2:].count("candidate"))

    result = abba(
        lambda: calls.append("baseline"),
        lambda: calls.append("candidate"),
        rounds=2,
        warmup=1,
        label="t: ",
        clock=clock,
    )

    assert calls == ["baseline", "candidate", "baseline", "candidate", "candidate", "baseline"]
    assert result.baseline == [1.0, 1.0]
    assert result.candidate == [3.0, 3.0]
    assert result.ratio == pytest.approx(1 / 3)
    assert "t: candidate/baseline throughput: 0.333" in capsys.readouterr().out


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the driver expects

    def do_GET(self) -> None:
        status = 500 if self.path.endswith("?n=3") else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def http_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_http_load_sends_each_request_once_and_counts_errors(http_server):
    # Request 3 of 20 answers 500: one error, 19 latencies, whatever client sent it.
    result = http_load(f"{http_server}/item", clients=4, requests=20, request=lambda number: {"params": {"n": number}})
    assert result.errors == 1
    assert len(result.latencies) == 19
    assert result.statuses == {200: 19, 500: 1}
    assert all(latency > 0 for latency in result.latencies)
    assert result.error_samples == ["request 3: 500: 'ok'"]


def test_http_load_for_a_duration_stops_sending_when_it_is_over(http_server):
    result = http_load(http_server, clients=2, duration=0.3)
    assert result.errors == 0, result.error_samples
    assert len(result.latencies) == result.statuses[200] > 0
    assert 0.3 <= result.seconds < 5  # the last requests in flight finish; no new one starts


def test_http_load_needs_a_count_or_a_duration(http_server):
    with pytest.raises(ValueError, match="either"):
        http_load(http_server, clients=1)
