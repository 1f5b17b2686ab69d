"""CQL2 filters (OGC API - Features Part 3), text and JSON encodings, read into one small tree.

What is read: AND, OR, NOT and parentheses; comparisons (=, <>, <, <=, >, >=), LIKE, IN,
BETWEEN, IS [NOT] NULL between a property and a literal (a string, number, boolean,
TIMESTAMP('...') or DATE('...')); S_INTERSECTS, S_WITHIN, S_CONTAINS and S_DISJOINT of a
property and a geometry (WKT, BBOX(...) or GeoJSON); T_AFTER, T_BEFORE, T_INTERSECTS,
T_DURING and T_EQUALS of a property and an instant or INTERVAL('start', 'end'). Property
names are kept as names: what they may reach is the caller's (its queryables) to decide.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import shape as from_geojson

MAX_LENGTH = 8000  # characters of a filter
MAX_DEPTH = 40  # nesting of a filter


class FilterError(ValueError):
    """A filter that cannot be read, with what is wrong."""


@dataclass(frozen=True)
class Node:
    kind: str  # and, or, not, compare, like, in, null, between, spatial, temporal
    op: str = ""
    prop: str = ""
    args: tuple[Any, ...] = ()
    negated: bool = False


COMPARISONS = {"=", "<>", "<", "<=", ">", ">="}
SPATIAL = {"s_intersects", "s_within", "s_contains", "s_disjoint"}
TEMPORAL = {"t_after", "t_before", "t_intersects", "t_during", "t_equals"}
GEOMETRIES = {
    "POINT",
    "LINESTRING",
    "POLYGON",
    "MULTIPOINT",
    "MULTILINESTRING",
    "MULTIPOLYGON",
    "GEOMETRYCOLLECTION",
}


def _instant(text: Any) -> dt.datetime | dt.date | None:
    if text == "..":
        return None
    if not isinstance(text, str):
        raise FilterError(f"not a time: {str(text)[:40]!r}")
    try:
        if "T" in text or " " in text:
            value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return dt.date.fromisoformat(text)
    except ValueError:
        raise FilterError(f"not an RFC 3339 time: {text[:40]!r}") from None


def _box(numbers: list[Any]) -> shapely.Geometry:
    if len(numbers) not in (4, 6) or not all(isinstance(n, int | float) for n in numbers):
        raise FilterError("BBOX takes 4 numbers")
    x0, y0, x1, y1 = (
        (numbers[0], numbers[1], numbers[2], numbers[3])
        if len(numbers) == 4
        else (
            numbers[0],
            numbers[1],
            numbers[3],
            numbers[4],
        )
    )
    if not (x0 <= x1 and y0 <= y1):
        raise FilterError("BBOX: each minimum must not exceed its maximum")
    return shapely.box(x0, y0, x1, y1)


# -- text -------------------------------------------------------------------------------------
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^']|'')*')
    | (?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<quoted>"(?:[^"]|"")+")
    | (?P<name>[A-Za-z_][A-Za-z0-9_.:]*)
    | (?P<op><>|<=|>=|=|<|>|\(|\)|,)
    )""",
    re.X,
)


class _Text:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        position = 0
        text = text.rstrip()
        while position < len(text):
            match = _TOKEN.match(text, position)
            if match is None or match.end() == position:
                raise FilterError(f"cannot read {text[position : position + 20]!r}")
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            position = match.end()
        self.at = 0
        self.depth = 0

    def peek(self, offset: int = 0) -> tuple[str, str]:
        index = self.at + offset
        return self.tokens[index] if index < len(self.tokens) else ("end", "")

    def word(self, offset: int = 0) -> str:
        kind, value = self.peek(offset)
        return value.upper() if kind == "name" else ""

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token[0] == "end":
            raise FilterError("the filter ends too soon")
        self.at += 1
        return token

    def expect(self, value: str) -> None:
        kind, found = self.take()
        if found.upper() != value:
            raise FilterError(f"expected {value!r}, found {found[:20]!r}")

    def parse(self) -> Node:
        node = self.disjunction()
        if self.peek()[0] != "end":
            raise FilterError(f"unexpected {self.peek()[1][:20]!r}")
        return node

    def disjunction(self) -> Node:
        parts = [self.conjunction()]
        while self.word() == "OR":
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else Node("or", args=tuple(parts))

    def conjunction(self) -> Node:
        parts = [self.negation()]
        while self.word() == "AND":
            self.take()
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else Node("and", args=tuple(parts))

    def negation(self) -> Node:
        if self.word() == "NOT":
            self.take()
            return Node("not", args=(self.negation(),))
        if self.peek()[1] == "(":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise FilterError(f"nested deeper than {MAX_DEPTH}")
            self.take()
            node = self.disjunction()
            self.expect(")")
            self.depth -= 1
            return node
        return self.predicate()

    def predicate(self) -> Node:
        function = self.word().lower()
        if function in SPATIAL | TEMPORAL and self.peek(1)[1] == "(":
            self.take()
            self.expect("(")
            prop = self.property()
            self.expect(",")
            if function in SPATIAL:
                node = Node("spatial", function, prop, (self.geometry(),))
            else:
                node = Node("temporal", function, prop, self.period())
            self.expect(")")
            return node
        prop = self.property()
        negated = False
        if self.word() == "NOT":
            self.take()
            negated = True
        word = self.word()
        if word == "LIKE":
            self.take()
            pattern = self.literal()
            if not isinstance(pattern, str):
                raise FilterError("LIKE takes a string pattern")
            return Node("like", prop=prop, args=(pattern,), negated=negated)
        if word == "IN":
            self.take()
            self.expect("(")
            values = [self.literal()]
            while self.peek()[1] == ",":
                self.take()
                values.append(self.literal())
            self.expect(")")
            return Node("in", prop=prop, args=tuple(values), negated=negated)
        if word == "BETWEEN":
            self.take()
            low = self.literal()
            self.expect("AND")
            return Node("between", prop=prop, args=(low, self.literal()), negated=negated)
        if word == "IS" and not negated:
            self.take()
            if self.word() == "NOT":
                self.take()
                negated = True
            self.expect("NULL")
            return Node("null", prop=prop, negated=negated)
        if negated:
            raise FilterError("NOT must come before LIKE, IN or BETWEEN")
        kind, op = self.take()
        if op not in COMPARISONS:
            raise FilterError(f"expected a comparison after {prop!r}, found {op[:20]!r}")
        return Node("compare", op, prop, (self.literal(),))

    def property(self) -> str:
        kind, value = self.take()
        if kind == "quoted":
            return value[1:-1].replace('""', '"')
        if kind != "name" or value.upper() in {"AND", "OR", "NOT", "TRUE", "FALSE", "NULL"}:
            raise FilterError(f"expected a property name, found {value[:20]!r}")
        return value

    def literal(self) -> Any:
        kind, value = self.take()
        if kind == "string":
            return value[1:-1].replace("''", "'")
        if kind == "number":
            number = float(value)
            return int(number) if number.is_integer() and "." not in value else number
        word = value.upper() if kind == "name" else ""
        if word in ("TRUE", "FALSE"):
            return word == "TRUE"
        if word in ("TIMESTAMP", "DATE"):
            self.expect("(")
            text = self.literal()
            self.expect(")")
            found = _instant(text)
            if found is None:
                raise FilterError(f"{word} needs a time")
            return found
        raise FilterError(f"expected a literal, found {value[:20]!r}")

    def geometry(self) -> shapely.Geometry:
        word = self.word()
        if word == "BBOX":
            self.take()
            self.expect("(")
            numbers = [self.literal()]
            while self.peek()[1] == ",":
                self.take()
                numbers.append(self.literal())
            self.expect(")")
            return _box(numbers)
        if word not in GEOMETRIES:
            raise FilterError(f"expected a geometry (WKT or BBOX), found {self.peek()[1][:20]!r}")
        parts = [self.take()[1]]
        depth = 0
        while True:
            kind, value = self.take()
            parts.append(value)
            if value == "(":
                depth += 1
            elif value == ")":
                depth -= 1
                if depth == 0:
                    break
        try:
            return shapely.from_wkt(" ".join(parts))
        except shapely.errors.ShapelyError:
            raise FilterError("a geometry that is not valid WKT") from None

    def period(self) -> tuple[Any, Any]:
        if self.word() == "INTERVAL":
            self.take()
            self.expect("(")
            start = _instant(self.literal())
            self.expect(",")
            end = _instant(self.literal())
            self.expect(")")
            return start, end
        at = self.literal()
        if not isinstance(at, dt.date):
            raise FilterError("a temporal function takes TIMESTAMP, DATE or INTERVAL")
        return at, at


def parse_text(text: str) -> Node:
    if len(text) > MAX_LENGTH:
        raise FilterError(f"longer than {MAX_LENGTH} characters")
    return _Text(text).parse()


# -- JSON -------------------------------------------------------------------------------------
def _json_value(value: Any) -> Any:
    if isinstance(value, dict):
        if "timestamp" in value or "date" in value:
            found = _instant(value.get("timestamp", value.get("date")))
            if found is None:
                raise FilterError("a timestamp needs a time")
            return found
        raise FilterError(f"not a literal: {str(value)[:40]}")
    if isinstance(value, str | int | float | bool):
        return value
    raise FilterError(f"not a literal: {str(value)[:40]}")


def _json_geometry(value: Any) -> shapely.Geometry:
    if isinstance(value, dict) and "bbox" in value:
        return _box(list(value["bbox"]))
    if isinstance(value, dict) and "type" in value:
        try:
            return from_geojson(value)
        except (ValueError, TypeError, KeyError, AttributeError, shapely.errors.ShapelyError):
            raise FilterError("a geometry that is not valid GeoJSON") from None
    raise FilterError("expected a geometry (GeoJSON or {bbox: [...]})")


def _json_period(value: Any) -> tuple[Any, Any]:
    if isinstance(value, dict) and "interval" in value:
        interval = value["interval"]
        if not isinstance(interval, list) or len(interval) != 2:
            raise FilterError("an interval has a start and an end")
        return _instant(interval[0]), _instant(interval[1])
    at = _json_value(value)
    if not isinstance(at, dt.date):
        raise FilterError("a temporal function takes a timestamp, date or interval")
    return at, at


def _json_property(value: Any) -> str:
    if isinstance(value, dict) and isinstance(value.get("property"), str):
        return value["property"]
    raise FilterError(f"expected {{'property': name}}, found {str(value)[:40]}")


def parse_json(value: Any, depth: int = 0) -> Node:
    if depth > MAX_DEPTH:
        raise FilterError(f"nested deeper than {MAX_DEPTH}")
    if not isinstance(value, dict) or not isinstance(value.get("op"), str):
        raise FilterError("expected {'op': ..., 'args': [...]}")
    op, args = value["op"].lower(), value.get("args")
    if not isinstance(args, list) or not args:
        raise FilterError(f"{op}: args must be a non-empty list")
    if op in ("and", "or"):
        return Node(op, args=tuple(parse_json(a, depth + 1) for a in args))
    if op == "not":
        return Node("not", args=(parse_json(args[0], depth + 1),))
    prop = _json_property(args[0])
    if op in COMPARISONS and len(args) == 2:
        return Node("compare", op, prop, (_json_value(args[1]),))
    if op == "like" and len(args) == 2 and isinstance(args[1], str):
        return Node("like", prop=prop, args=(args[1],))
    if op == "in" and len(args) == 2 and isinstance(args[1], list) and args[1]:
        return Node("in", prop=prop, args=tuple(_json_value(v) for v in args[1]))
    if op == "between" and len(args) == 3:
        return Node("between", prop=prop, args=(_json_value(args[1]), _json_value(args[2])))
    if op == "isnull" and len(args) == 1:
        return Node("null", prop=prop)
    if op in SPATIAL and len(args) == 2:
        return Node("spatial", op, prop, (_json_geometry(args[1]),))
    if op in TEMPORAL and len(args) == 2:
        return Node("temporal", op, prop, _json_period(args[1]))
    raise FilterError(f"{op[:20]!r} with {len(args)} arguments is not an operator read here")
