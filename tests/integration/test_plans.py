"""Query plans of GET requests (issue 4: "each geographic filter uses the spatial index",
"no count(*) on the hot path"): EXPLAIN of the SQL that
open311.repository.requests.public_query builds (with the LIMIT and the 90-day window and
snapshot GET requests adds), its parameters bound as the app binds them, on 5,000 requests
spread around Los Angeles over two years, inserted inside the test's transaction, then
``ANALYZE service_request``.

``enable_seqscan = off`` (SET LOCAL, in the transaction) is used where the planner may
rightly prefer a sequential scan on a table this small: then a Seq Scan that is still in the
plan means no index can serve the query at all. bbox needs no help.

Plans observed (PostgreSQL 15, PostGIS; costs and the geometry literals cut):

bbox (default settings; since migration 0004, GiST on (location, requested_datetime) WHERE
public, btree_gist)::

    Limit -> Sort (requested_datetime DESC, id DESC) -> Nested Loop
      -> Index Scan using ix_service_request_location_newest on service_request
           Index Cond: ((public_location && '<envelope>') AND (requested_datetime >= ...))
           Filter: ((accepted_at <= ...) AND (jurisdiction_pk = 1))

q (enable_seqscan off; with it on, a Seq Scan for 20 matches of 5,000)::

    Limit -> Sort -> Nested Loop
      -> Bitmap Heap Scan on service_request  Recheck Cond: (search @@ '''hydrant'''::tsquery)
           -> Bitmap Index Scan on ix_service_request_search

radius (enable_seqscan off, and still)::

    Limit -> Sort -> Nested Loop
      -> Seq Scan on service_request
           Filter: (... AND st_dwithin((location)::geography, '<point>'::geography, '300', true))

    The GiST index is on the geometry column; ST_DWithin on ``location::geography`` can
    only use an index on that expression, and there is none.

area (enable_seqscan off, and still)::

    Limit -> Sort -> Nested Loop -> Nested Loop Semi Join
      -> Seq Scan on service_request  Filter: ((public IS TRUE) AND ...)
      -> Index Scan using ix_area_part_geom on area_part  Index Cond: (geom ~ location)
           Filter: ((area_pk = 5) AND st_covers(geom, location))

    EXISTS (... ST_Covers(area_part.geom, service_request.location)) is a semi-join on a
    non-equality clause: PostgreSQL cannot turn it around to drive from the area's parts, so
    every request of the window is probed one by one; the GiST index on location was never
    used (nor the GIN ix_service_request_area_pks, which holds the same answer).

default list and sync (enable_seqscan off, and still)::

    Limit -> Sort (requested_datetime DESC, id DESC | updated_datetime, id) -> Nested Loop
      -> Seq Scan on service_request
           Filter: ((public IS TRUE) AND (requested_datetime >= ...) AND ...)

    ix_service_request_newest / ix_service_request_updated are partial indexes
    ``WHERE public``; the query says ``public IS TRUE`` (``SR.public.is_(True)``), which the
    planner does not prove to imply ``public``, so neither index is usable: every GET
    requests reads and sorts the whole window. (Checked by hand: ``WHERE public`` or
    ``public = true`` gives ``Index Only Scan using ix_service_request_newest``.)

No plan has an Aggregate or a count(*).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ClauseElement, Executable

from open311.repository import request_filters, request_search
from tests.helpers import la

ROWS = 5000
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
# What GET requests adds to every listing: the default 90-day window and the snapshot.
WINDOW = {"start": NOW - dt.timedelta(days=90), "visible_by": NOW}
PAGE = 1000  # max_requests: the LIMIT of a listing without page_size

PARTIAL_INDEX_BUG = (
    "BUG: public_query filters SR.public.is_(True) ('public IS TRUE'), which PostgreSQL does "
    "not prove implies the partial-index predicate 'WHERE public': ix_service_request_newest "
    "and ix_service_request_updated are never used; every listing reads and sorts its whole "
    "window (a Seq Scan even with enable_seqscan off)"
)


class Explain(Executable, ClauseElement):
    """``EXPLAIN`` + a statement, its parameters bound as the app binds them (the psycopg
    dialect cannot render a REGCONFIG literal, so literal_binds is not an option)."""

    inherit_cache = False

    def __init__(self, statement) -> None:
        self.statement = statement


@compiles(Explain, "postgresql")
def _explain(element, compiler, **kw):
    return "EXPLAIN " + compiler.process(element.statement, **kw)


@pytest.fixture
def jurisdiction_pk(session) -> int:
    """5,000 public requests of ten services, one every 3 hours over two years, anywhere in
    a 0.35 x 0.30 degree box over Los Angeles; one in 250 is about a hydrant."""
    pk = la(session).id
    session.execute(sa.text("SELECT setseed(0.311)"))
    session.execute(
        sa.text("""
        INSERT INTO service_request (jurisdiction_pk, service_pk, status, description,
                                     address, requested_datetime, updated_datetime, location,
                                     attributes, accepted_at, public)
        SELECT :j, s.id, CASE WHEN g % 3 = 0 THEN 'closed' ELSE 'open' END,
               CASE WHEN g % 250 = 0 THEN 'Hydrant knocked over'
                    ELSE (ARRAY['Pothole in the right lane', 'Streetlight flickering all night',
                                'Sofa left on the curb', 'Tag on the side wall',
                                'Water running down the gutter'])[1 + g % 5] END,
               (100 + g % 900) || ' W ' || (1 + g % 60) || 'th St',
               :now - make_interval(hours => g * 3), :now - make_interval(hours => g * 2),
               ST_SetSRID(ST_MakePoint(-118.55 + random() * 0.35,
                                       33.95 + random() * 0.30), 4326),
               '{}', :now - make_interval(hours => g * 3), true
        FROM generate_series(1, :rows) AS g
        CROSS JOIN LATERAL (SELECT id FROM service WHERE jurisdiction_pk = :j ORDER BY id
                            OFFSET g % 10 LIMIT 1) AS s
    """),
        {"j": pk, "now": NOW, "rows": ROWS},
    )
    # Shown where they are (the services that show places exactly: privacy.public_point).
    session.execute(
        sa.text("""
        UPDATE service_request AS r SET public_location = r.location FROM service AS s
         WHERE s.id = r.service_pk AND s.location_privacy = 'exact' AND r.jurisdiction_pk = :j
    """),
        {"j": pk},
    )
    session.execute(sa.text("ANALYZE service_request"))
    assert (
        session.scalar(
            sa.text("SELECT count(*) FROM service_request WHERE jurisdiction_pk = :j"), {"j": pk}
        )
        >= ROWS
    )
    return pk


def plan(
    session,
    jurisdiction_pk: int,
    filters: request_filters.Filters,
    *,
    seqscan: bool = True,
    limit: int = PAGE,
) -> str:
    """The plan of GET requests' query for these filters (``seqscan=False``: with
    enable_seqscan off, for this transaction only). Never an aggregate."""
    query = request_search.public_query(jurisdiction_pk, filters, limit=limit)
    if not seqscan:
        session.execute(sa.text("SET LOCAL enable_seqscan = off"))
    try:
        text = "\n".join(session.scalars(Explain(query)))
    finally:
        session.execute(sa.text("RESET enable_seqscan"))
    assert "count(" not in text.lower() and "Aggregate" not in text, text
    assert "count(" not in str(query).lower()
    return text


def uses(text: str, index: str) -> bool:
    return re.search(rf"(Index|Index Only) Scan (using|on) {index}\b", text) is not None


def area_pk(session, layer: str, area_id: str) -> int:
    return session.scalar(
        sa.text("SELECT id FROM area WHERE layer = :l AND area_id = :a"), {"l": layer, "a": area_id}
    )


def test_bbox_uses_the_gist_index(session, jurisdiction_pk):
    text = plan(
        session,
        jurisdiction_pk,
        request_filters.Filters(bbox=(-118.25, 34.05, -118.24, 34.06), **WINDOW),
    )
    assert uses(text, "ix_service_request_location_newest"), text
    # the box and the time window in one index condition (not the box's whole history)
    assert re.search(
        r"Index Cond: \(\(public_location && .*\) AND \(requested_datetime >= ", text
    ), text
    assert "Seq Scan on service_request" not in text, text


def test_radius_uses_the_gist_index(session, jurisdiction_pk):
    text = plan(
        session,
        jurisdiction_pk,
        request_filters.Filters(near=(-118.2428, 34.0537, 300.0), **WINDOW),
        seqscan=False,
    )
    assert uses(text, "ix_service_request_location_newest"), text
    assert "Seq Scan on service_request" not in text, text


def test_area_uses_the_gist_index(session, jurisdiction_pk):
    pk = area_pk(session, "council_district", "14")
    text = plan(
        session, jurisdiction_pk, request_filters.Filters(area_pk=pk, **WINDOW), seqscan=False
    )
    assert uses(text, "ix_service_request_location_newest"), text
    assert "Seq Scan on service_request" not in text, text


def test_q_uses_the_search_index(session, jurisdiction_pk):
    # 20 matches of 5,000: the planner still costs a Seq Scan lower on a table this small
    text = plan(
        session, jurisdiction_pk, request_filters.Filters(text="hydrant", **WINDOW), seqscan=False
    )
    assert (
        uses(text, "ix_service_request_search")
        or "Bitmap Index Scan on ix_service_request_search" in text
    ), text
    assert "Seq Scan on service_request" not in text, text


@pytest.mark.parametrize("after", [False, True], ids=["first-page", "next-page"])
def test_default_list_uses_the_newest_index(session, jurisdiction_pk, after):
    filters = request_filters.Filters(**WINDOW)
    if after:  # the keyset condition of a page reached through the Link header's cursor
        filters.after = (NOW - dt.timedelta(days=10), 10**6)
    # A page much smaller than the window, as on a real city's table (millions of rows, a
    # 90-day window of hundreds of thousands): here 50 of the ~700 rows of the window. With
    # the page as large as the whole window, a bitmap scan and a sort is rightly cheaper.
    text = plan(session, jurisdiction_pk, filters, seqscan=False, limit=50)
    assert uses(text, "ix_service_request_newest"), text
    assert "Sort Key" not in text, text  # the index gives the order


def test_sync_uses_the_updated_index(session, jurisdiction_pk):
    filters = request_filters.Filters(
        sync=True, updated_from=NOW - dt.timedelta(days=3), updated_before=NOW, visible_by=NOW
    )
    text = plan(session, jurisdiction_pk, filters, seqscan=False)
    assert uses(text, "ix_service_request_updated"), text
