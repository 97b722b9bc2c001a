"""The queue flood benchmark, tiny: 20 kiosks instead of ``make bench``'s 1,000, so a
change that breaks the bench (or the flood) shows in ``make test``."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support import ROOT, TIMEOUT

SMALL = ["--kiosks", "20", "--operators", "2", "--head-calls", "5", "--ring-stops", "3",
         "--hold-s", "0", "--handshakes", "2", "--window-s", "0.3"]  # fmt: skip


def test_the_flood_bench_queues_every_press_and_tells_exact_places() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.queue_bench", *SMALL],
        cwd=ROOT, capture_output=True, text=True, timeout=8 * TIMEOUT,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    figures = json.loads(done.stdout[done.stdout.index("\n{") :])
    assert (figures["flood_presses"], figures["flood_queued"], figures["flood_rang"]) == (
        20,
        20,
        20,
    )
    assert figures["flood_positions_exact"] is True
    assert figures["idle_kiosks_held"] == 20
    for key in (
        "ring_stop_p99_ms",
        "press_to_ring_p99_ms",
        "press_to_ring_floor_p99_ms",
        "rss_per_kiosk_kib",
        "kiosk_handshake_ms",
        "ping_during_handshakes_max_ms",
        "ping_idle_max_ms",
    ):
        assert figures[key] > 0, key
