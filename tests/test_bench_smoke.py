"""The benches, tiny, so a change that breaks one (or what it measures) shows in
``make test``: the queue bench with 20 kiosks instead of ``make bench``'s 10,000, a
few presses and a short hold; the first-frame bench with one call of each kind."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support import ROOT, TIMEOUT

KIOSKS = 20
SMALL = ["--kiosks", str(KIOSKS), "--operators", "8", "--count-calls", "2",
         "--head-presses", "5", "--cross-presses", "3", "--hold-s", "1",
         "--flood", str(KIOSKS), "--window-s", "0.3", "--exact-tail", "5"]  # fmt: skip
TIMED = ["head_press_to_ring", "ring_stop", "cross_node_press_to_ring"]
FLOORED = ["head_press_to_ring", "ring_stop"]


def test_the_queue_bench_measures_every_figure_beside_its_floor() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.queue_bench", *SMALL],
        cwd=ROOT, capture_output=True, text=True, timeout=8 * TIMEOUT,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    figures = json.loads(done.stdout[done.stdout.index("\n{") :])

    assert (figures["flood_presses"], figures["flood_queued"], figures["flood_drained"]) == (
        KIOSKS, KIOSKS, KIOSKS,
    )  # fmt: skip
    assert figures["flood_positions_exact"] is True
    assert figures["idle_kiosks_held"] == KIOSKS
    assert figures["redis_transport"] == "tcp"
    assert figures["redis_commands_unattributed"] == 0
    # a press reads and writes Redis, and a call is a press and more
    assert 1 <= figures["redis_commands_per_press"] < figures["redis_commands_per_call"]
    for stem in TIMED:
        assert 0 < figures[f"{stem}_p50_ms"] <= figures[f"{stem}_p99_ms"], stem
    for stem in FLOORED:
        assert figures[f"{stem}_floor_p99_ms"] > 0, stem
        assert figures[f"{stem}_p99_ratio"] > 0, stem
    for key in ("flood_drain_calls_per_s", "rss_per_kiosk_kib", "rss_floor_per_conn_kib"):
        assert figures[key] > 0, key


@pytest.mark.browser
def test_the_first_frame_bench_times_both_kiosks_beside_the_floor() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.first_frame", "--calls", "1", "--warm-up", "0"],
        cwd=ROOT, capture_output=True, text=True, timeout=6 * TIMEOUT,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    figures = json.loads(done.stdout[done.stdout.index("\n{") :])

    for stem in ("answer_to_first_frame", "answer_to_first_frame_no_prefetch"):
        for q in ("p50", "p90"):
            assert figures[f"{stem}_{q}_ms"] > 0, (stem, q)
            assert figures[f"{stem}_{q}_ratio"] > 0, (stem, q)
    assert figures["answer_to_first_frame_floor_p50_ms"] > 0
