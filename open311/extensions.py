"""Unbound singletons, bound to an app by ``init_app`` in ``create_app``.

The flask-smorest ``Api`` is made per app (it holds the app's OpenAPI document).
"""

from open311.db import Database

db = Database()
