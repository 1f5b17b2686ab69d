"""Parameter fields and the POST form's attribute folding."""

from __future__ import annotations

import datetime as dt

import pytest
from marshmallow import ValidationError

from schemas.params import PostServiceRequestForm, ServiceRequestsQuery, fold_attributes


def test_comma_lists_are_split_trimmed_and_deduplicated():
    data = ServiceRequestsQuery().load({"service_code": ["A, B", "C", "A", " "]})
    assert data["service_code"] == ["A", "B", "C"]


@pytest.mark.parametrize(
    "text,expected",
    [
        (
            "2024-01-31T17:00:00-08:00",
            dt.datetime(2024, 1, 31, 17, tzinfo=dt.timezone(dt.timedelta(hours=-8))),
        ),
        ("2024-01-31T17:00:00Z", dt.datetime(2024, 1, 31, 17, tzinfo=dt.UTC)),
        ("2024-01-31T17:00:00.017Z", dt.datetime(2024, 1, 31, 17, 0, 0, 17000, tzinfo=dt.UTC)),
        (
            "2024-01-31T17:00:00.123456789Z",
            dt.datetime(2024, 1, 31, 17, 0, 0, 123456, tzinfo=dt.UTC),
        ),
        ("2024-01-31T17:00", dt.datetime(2024, 1, 31, 17)),
        ("2024-01-31", dt.date(2024, 1, 31)),
    ],
)
def test_datetime_spellings(text, expected):
    assert ServiceRequestsQuery().load({"start_date": text})["start_date"] == expected


@pytest.mark.parametrize(
    "text",
    [
        "31/01/2024",
        "2024-01-31T25:00:00Z",
        "1712345678",
        "now",
        "0001-01-01",
        "2024-01-31T17:00:00+25:00",
    ],
)
def test_bad_datetimes(text):
    with pytest.raises(ValidationError) as info:
        ServiceRequestsQuery().load({"start_date": text})
    assert "start_date" in info.value.messages


def test_fold_attributes_accepts_all_three_spellings():
    attributes, problems = fold_attributes(
        [
            ("attribute[A]", "1"),
            ("attribute[B][]", "x"),
            ("attribute[B][]", "y"),
            ("attribute[C]", "p"),
            ("attribute[C]", "q"),
            ("attribute[D]", ""),
            ("service_code", "S"),
        ]
    )
    assert problems == []
    assert attributes == {"A": ["1"], "B": ["x", "y"], "C": ["p", "q"]}


def test_fold_attributes_refuses_malformed_keys():
    _, problems = fold_attributes([("attribute[X", "1"), ("attributes", "2")])
    assert len(problems) == 2 and "attribute[CODE]" in problems[0]


def test_post_form_needs_a_location():
    with pytest.raises(ValidationError) as info:
        PostServiceRequestForm().load({"service_code": "X"})
    assert "location" in info.value.messages


def test_post_form_lat_and_long_go_together():
    with pytest.raises(ValidationError) as info:
        PostServiceRequestForm().load({"service_code": "X", "lat": "34"})
    assert "long" in info.value.messages


def test_post_form_single_line_fields_refuse_line_breaks():
    with pytest.raises(ValidationError) as info:
        PostServiceRequestForm().load(
            {"service_code": "X", "address_id": "1", "first_name": "A\nB"}
        )
    assert "first_name" in info.value.messages
    ok = PostServiceRequestForm().load(
        {"service_code": "X", "address_id": "1", "description": "line 1\nline 2"}
    )
    assert ok["description"] == "line 1\nline 2"


def test_the_documented_patterns_are_the_checks():
    """openapi.yaml's pattern of a text parameter refuses exactly what Text refuses."""
    import re

    from schemas.fields import _CONTROL, LINE_PATTERN, MULTILINE_PATTERN

    line, multiline = re.compile(LINE_PATTERN), re.compile(MULTILINE_PATTERN)
    for code in [*range(0x00, 0x2000), *range(0xFFF0, 0x10000), 0x10FFFF]:
        if 0xD800 <= code < 0xE000:
            continue
        char = chr(code)
        refused = bool(_CONTROL.search(char))
        assert (multiline.fullmatch(char) is None) == refused, hex(code)
        assert (line.fullmatch(char) is None) == (refused or char in "\r\n\t"), hex(code)
