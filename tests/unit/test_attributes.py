"""Checking submitted attributes against a service definition (no database)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from open311.errors import ValidationFailed
from open311.models import ServiceAttribute
from open311.operations.attributes import check_attributes

LA = ZoneInfo("America/Los_Angeles")


def attr(code, datatype, required=False, variable=True, keys=()):
    return ServiceAttribute(
        code=code,
        datatype=datatype,
        required=required,
        variable=variable,
        order=1,
        description=f"{code}?",
        values=[{"key": k, "name": k.title()} for k in keys],
    )


DEFINITION = [
    attr("S", "string"),
    attr("N", "number", required=True),
    attr("D", "datetime"),
    attr("T", "text"),
    attr("ONE", "singlevaluelist", keys=("A", "B")),
    attr("MANY", "multivaluelist", keys=("X", "Y", "Z")),
    attr("INFO", "string", variable=False),
]


def problems(submitted):
    with pytest.raises(ValidationFailed) as info:
        check_attributes(DEFINITION, submitted, LA)
    return info.value.problems


def test_valid_values_are_normalised():
    clean = check_attributes(
        DEFINITION,
        {
            "S": ["hello"],
            "N": ["2"],
            "D": ["2024-05-01T10:00:00Z"],
            "T": ["a\nb"],
            "ONE": ["B"],
            "MANY": ["Y", "X", "Y"],
        },
        LA,
    )
    assert clean == {
        "S": "hello",
        "N": 2,
        "D": "2024-05-01T03:00:00-07:00",
        "T": "a\nb",
        "ONE": "B",
        "MANY": ["Y", "X"],
    }


def test_number_keeps_fractions_and_local_datetimes():
    clean = check_attributes(DEFINITION, {"N": ["2.5"], "D": ["2024-12-01T08:00"]}, LA)
    assert clean == {"N": 2.5, "D": "2024-12-01T08:00:00-08:00"}


@pytest.mark.parametrize(
    "submitted,needle",
    [
        ({}, "attribute[N] is required"),
        ({"N": ["many"]}, "attribute[N] must be a number"),
        ({"N": ["inf"]}, "must be a number"),
        ({"N": ["1e999"]}, "finite"),
        ({"N": ["1_000"]}, "must be a number"),
        ({"N": ["\u0663"]}, "must be a number"),
        ({"N": ["1", "2"]}, "takes one value"),
        ({"N": ["1"], "ONE": ["C"]}, "'C' is not among its values (A, B)"),
        ({"N": ["1"], "MANY": ["X", "W"]}, "'W'"),
        ({"N": ["1"], "D": ["yesterday"]}, "attribute[D] must be an ISO 8601 datetime"),
        ({"N": ["1"], "S": ["a\nb"]}, "line breaks"),
        ({"N": ["1"], "S": ["x" * 1001]}, "at most 1000"),
        ({"N": ["1"], "T": ["\x00"]}, "control characters"),
        ({"N": ["1"], "NOPE": ["1"]}, "attribute[NOPE] is not an attribute"),
        ({"N": ["1"], "INFO": ["1"]}, "attribute[INFO] is informational"),
    ],
)
def test_refusals_name_the_attribute(submitted, needle):
    assert any(needle in p for p in problems(submitted)), problems(submitted)


def test_every_problem_is_reported():
    found = problems({"ONE": ["C"], "NOPE": ["1"]})
    assert len(found) == 3  # bad ONE, unknown NOPE, missing N
