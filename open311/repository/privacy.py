"""What the public sees of a request's place, by its service's ``location_privacy``: one home
for every public answer (GeoReport, exports, OGC API, statistics) and every filter.

- exact: the point, the address, the photos;
- grid: the centre of the point's cell in a grid of ``grid_metres``; no address (a house
  number would undo the grid) and no photo (a photo shows the place); the zipcode and areas;
- hidden: no point, address, zipcode, area or photo; a box, circle or area never finds it.

The public point is stored (``public_location``, indexed for the map filters) and derived here
only: on insert, and again for a service whose privacy changes (``refresh_public_view``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from open311.models import Service, ServiceRequest
from open311.repository.spatial import point
from schemas.vocabulary import LOCATION_PRIVACY

SR = ServiceRequest
EXACT, GRID, HIDDEN = LOCATION_PRIVACY

METRES_PER_DEGREE_LAT = 110_574.0
METRES_PER_DEGREE_LONG = 111_320.0  # at the equator; times cos(latitude) elsewhere


def grid_point(long: Any, lat: Any, metres: Any) -> sa.ColumnElement:
    """The centre of the cell of (long, lat) in a grid of ``metres``: rows ``metres`` high,
    cells ``metres`` wide at their row's latitude (so a cell is about square anywhere)."""
    size = sa.cast(metres, sa.Float)
    step_lat = size / METRES_PER_DEGREE_LAT
    row_lat = sa.func.round(lat / step_lat) * step_lat
    width = METRES_PER_DEGREE_LONG * sa.func.greatest(sa.func.cos(sa.func.radians(row_lat)), 0.01)
    step_long = size / width
    return point(sa.func.round(long / step_long) * step_long, row_lat)


def public_point(long: Any, lat: Any, privacy: Any, metres: Any) -> sa.ColumnElement:
    """The public location of a point (NULL when hidden or without a point)."""
    return sa.case(
        (privacy == EXACT, point(long, lat)),
        (privacy == GRID, grid_point(long, lat, metres)),
        else_=None,
    )


def exact_only(column: Any, privacy: Any = Service.location_privacy) -> sa.ColumnElement:
    """A column shown only for a service whose requests are shown exactly (address, photo)."""
    return sa.case((privacy == EXACT, column), else_=None)


def unless_hidden(column: Any, privacy: Any = Service.location_privacy) -> sa.ColumnElement:
    """A column shown unless the service hides its requests' place (zipcode)."""
    return sa.case((privacy != HIDDEN, column), else_=None)


NO_AREAS = sa.cast(sa.literal_column("'{}'"), ARRAY(sa.Integer))


def public_area_pks(privacy: Any = Service.location_privacy) -> sa.ColumnElement:
    """The areas a request is shown in (none when its place is hidden)."""
    return sa.case((privacy != HIDDEN, SR.area_pks), else_=NO_AREAS)


def search_vector(
    description: Any, address: Any, service_name: Any, group: Any, keywords: Any
) -> sa.ColumnElement:
    """What q= searches: the description, the address (``address``: only where the address
    is public, or a search by street would find a hidden request), the service's name, group
    and keywords."""
    return sa.func.to_tsvector(
        "english",
        sa.func.concat_ws(
            " ",
            description,
            address,
            service_name,
            group,
            sa.func.array_to_string(keywords, " "),
        ),
    )


def refresh_public_view(session: Session, service_pks: Sequence[int], now: dt.datetime) -> int:
    """Derive again what the public sees of these services' requests (after their
    location_privacy changed): the public point and the searchable text. Their
    updated_datetime moves to ``now``, so a mirror syncing by updated_after fetches them
    again. The number of requests changed."""
    if not service_pks:
        return 0
    statement = (
        sa.update(SR)
        .where(SR.service_pk == Service.id, Service.id.in_(list(service_pks)))
        .values(
            public_location=public_point(
                sa.func.ST_X(SR.location),
                sa.func.ST_Y(SR.location),
                Service.location_privacy,
                Service.grid_metres,
            ),
            search=search_vector(
                SR.description,
                exact_only(SR.address),
                Service.service_name,
                Service.group,
                Service.keywords,
            ),
            updated_datetime=now,
        )
        .execution_options(synchronize_session=False)
    )
    return cast(sa.CursorResult, session.execute(statement)).rowcount
