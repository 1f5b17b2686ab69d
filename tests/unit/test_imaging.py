"""Photos are cleaned off the event loop when the server runs on gevent: a worker's other
connections are served while one photo is decoded and encoded."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from open311.imaging import clean_image, off_the_loop
from tests.helpers import photo


def test_without_gevent_the_work_runs_here():
    data = photo(size=(64, 48))
    assert off_the_loop(clean_image, data, max_pixels=10_000).width == 64


def test_under_gevent_the_loop_keeps_running_while_a_photo_is_cleaned():
    script = textwrap.dedent("""
        from gevent import monkey; monkey.patch_all()
        import io, time, gevent
        from PIL import Image
        from open311.imaging import clean_image, off_the_loop

        out = io.BytesIO()
        Image.effect_noise((4000, 3000), 40).convert("RGB").save(out, "JPEG", quality=90)
        data, ticks = out.getvalue(), []

        def tick():
            while True:
                ticks.append(time.perf_counter())
                gevent.sleep(0.005)

        ticker = gevent.spawn(tick)
        gevent.sleep(0.02)
        started = time.perf_counter()
        cleaned = off_the_loop(clean_image, data, max_pixels=24_000_000)
        took = time.perf_counter() - started
        ticker.kill()
        gaps = [b - a for a, b in zip(ticks, ticks[1:])]
        print(cleaned.width, round(took, 3), round(max(gaps), 3), len(ticks))
    """)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    width, took, longest_gap, ticks = done.stdout.split()
    assert int(width) == 4000
    assert float(took) > 0.05  # real work, long enough to have blocked the loop
    assert float(longest_gap) < float(took) / 2, done.stdout  # the loop ran meanwhile
