"""WSGI entry point: `gunicorn wsgi:app`."""

from open311 import create_app

app = create_app()
