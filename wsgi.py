"""WSGI entry point: `gunicorn wsgi:app`."""

import gc

from open311 import create_app

app = create_app()

# A list answer makes tens of thousands of short-lived objects that reference counting frees:
# the cycle collector runs rarely, and never scans what start-up made.
gc.freeze()
gc.set_threshold(50_000, 20, 100)
