"""WSGI entry point: `gunicorn wsgi:app`."""

import gc

from open311 import create_app

app = create_app()

# A worker makes tens of thousands of short-lived objects per list answer, nearly all freed by
# reference counting; at the default generation-0 threshold (700) the cycle collector ran on
# every 1000-request answer (0.4 ms of it). What start-up made is frozen out of its scans.
gc.freeze()
gc.set_threshold(50_000, 20, 100)
