"""WSGI entry point: `gunicorn -c python:open311.serving wsgi:app` (what `open311 serve`
runs). Without that config module (or --preload) each worker makes its own change marks
(open311/change_mark.py) and a write through one worker reaches the answers another keeps
only through the database's notice, milliseconds later: set OPEN311_KEPT_ANSWERS=0 there."""

import gc

from open311 import create_app

app = create_app()

# A list answer makes tens of thousands of short-lived objects that reference counting frees:
# the cycle collector runs rarely, and never scans what start-up made.
gc.freeze()
gc.set_threshold(50_000, 20, 100)
