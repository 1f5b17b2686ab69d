"""CQL2 text and JSON read into one tree (schemas/cql2.py): what is read, and what is
refused with a message naming the problem."""

from __future__ import annotations

import datetime as dt

import pytest

from schemas.cql2 import FilterError, Node, parse_json, parse_text

AT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "document"),
    [
        (
            "service_code = 'GRAFFITI'",
            {"op": "=", "args": [{"property": "service_code"}, "GRAFFITI"]},
        ),
        (
            "requested_datetime >= TIMESTAMP('2026-01-01T00:00:00Z')",
            {
                "op": ">=",
                "args": [{"property": "requested_datetime"}, {"timestamp": "2026-01-01T00:00:00Z"}],
            },
        ),
        (
            "status_description IN ('open', 'closed')",
            {"op": "in", "args": [{"property": "status_description"}, ["open", "closed"]]},
        ),
        ("description LIKE 'Tag%'", {"op": "like", "args": [{"property": "description"}, "Tag%"]}),
        ("address IS NULL", {"op": "isNull", "args": [{"property": "address"}]}),
        (
            "S_INTERSECTS(geometry, BBOX(-118.3, 34.0, -118.2, 34.1))",
            {
                "op": "s_intersects",
                "args": [{"property": "geometry"}, {"bbox": [-118.3, 34.0, -118.2, 34.1]}],
            },
        ),
        (
            "T_AFTER(requested_datetime, TIMESTAMP('2026-01-01T00:00:00Z'))",
            {
                "op": "t_after",
                "args": [{"property": "requested_datetime"}, {"timestamp": "2026-01-01T00:00:00Z"}],
            },
        ),
    ],
)
def test_text_and_json_read_to_the_same_tree(text, document):
    assert parse_text(text) == parse_json(document)


def test_precedence_parentheses_and_negation():
    tree = parse_text(
        "(service_code = 'A' OR \"status_description\" = 'open') AND NOT (description <> 'x')"
    )
    assert tree.kind == "and"
    first, second = tree.args
    assert first.kind == "or" and [n.prop for n in first.args] == [
        "service_code",
        "status_description",
    ]
    assert second == Node("not", args=(Node("compare", "<>", "description", ("x",)),))
    assert parse_text("a = 1 OR b = 2 AND c = 3").kind == "or"  # AND binds tighter


def test_literals_and_negated_predicates():
    assert parse_text("n BETWEEN 1 AND 2.5") == Node("between", prop="n", args=(1, 2.5))
    assert parse_text("d NOT LIKE 'it''s%'").args == ("it's%",)
    assert parse_text("d NOT LIKE 'x'").negated
    assert parse_text("d IS NOT NULL") == Node("null", prop="d", negated=True)
    assert parse_text("t < DATE('2026-01-01')").args == (dt.date(2026, 1, 1),)
    assert parse_text("t < TIMESTAMP('2026-01-01T00:00:00Z')").args == (AT,)
    assert parse_text("b = TRUE").args == (True,)


def test_geometries_and_intervals():
    point = parse_text("S_WITHIN(geometry, POLYGON((0 0, 1 0, 1 1, 0 1, 0 0)))").args[0]
    assert point.geom_type == "Polygon" and point.area == 1
    interval = parse_text(
        "T_DURING(requested_datetime, INTERVAL('2026-01-01T00:00:00Z', '..'))"
    ).args
    assert interval == (AT, None)
    json_point = parse_json(
        {
            "op": "s_intersects",
            "args": [{"property": "geometry"}, {"type": "Point", "coordinates": [1, 2]}],
        }
    ).args[0]
    assert (json_point.x, json_point.y) == (1, 2)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("service_code = ", "ends too soon"),
        ("service_code == 'x'", "literal"),
        ("= 'x'", "property name"),
        ("a = 'x' b = 'y'", "unexpected"),
        ("a LIKE 3", "string pattern"),
        ("S_INTERSECTS(geometry, CIRCLE(1 2))", "geometry"),
        ("S_INTERSECTS(geometry, POINT(1))", "WKT"),
        ("S_INTERSECTS(geometry, BBOX(3, 0, 1, 1))", "BBOX"),
        ("t < TIMESTAMP('yesterday')", "RFC 3339"),
        ("a = 'x' ; DROP TABLE service_request", "cannot read"),
        ("(" * 50 + "a = 1" + ")" * 50, "nested"),
        ("a = '" + "x" * 9000 + "'", "longer than"),
    ],
)
def test_bad_text_is_named(text, needle):
    with pytest.raises(FilterError) as error:
        parse_text(text)
    assert needle in str(error.value)


@pytest.mark.parametrize(
    ("document", "needle"),
    [
        ([], "op"),
        ({"op": "=", "args": []}, "non-empty"),
        ({"op": "=", "args": ["service_code", "x"]}, "property"),
        ({"op": "=", "args": [{"property": "a"}, {"x": 1}]}, "literal"),
        ({"op": "s_intersects", "args": [{"property": "g"}, {"type": "Blob"}]}, "GeoJSON"),
        ({"op": "frobnicate", "args": [{"property": "a"}, 1]}, "not an operator"),
    ],
)
def test_bad_json_is_named(document, needle):
    with pytest.raises(FilterError) as error:
        parse_json(document)
    assert needle in str(error.value)
