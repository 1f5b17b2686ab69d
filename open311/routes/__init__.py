"""HTTP only: parse -> call one operation -> render. One module per resource."""

from __future__ import annotations

from flask_smorest import Api

from open311.routes import (
    bulk,
    discovery,
    features,
    geography,
    requests,
    services,
    statistics,
    tokens,
    updates,
)

BLUEPRINTS = (
    discovery.blp,
    services.blp,
    requests.blp,
    tokens.blp,
    updates.blp,
    geography.blp,
    bulk.blp,
    statistics.blp,
    features.blp,
)


def register(api: Api) -> None:
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
