"""Reading a jurisdiction's address points (CSV with a header row, or GeoJSON points).

Each point becomes an `AddressRow` carrying the normalised match key (geo.addresses). Rows
without a usable address or position are reported, not loaded. A leaf: stdlib + geo only.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from geo.addresses import normalize


class AddressFileError(ValueError):
    pass


@dataclass(frozen=True)
class AddressRow:
    address_id: str
    address: str
    key: str
    house_number: str | None
    street_name: str
    predirection: str | None
    street_type: str | None
    zipcode: str | None
    long: float
    lat: float


@dataclass
class AddressFile:
    rows: list[AddressRow]
    skipped: list[str]  # one line per skipped row (the first few), for the load report
    skipped_count: int
    digest: str  # sha256 of the file and the field mapping: unchanged -> nothing to reload


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text not in (None, "") else None
    except (TypeError, ValueError):
        return None
    return value if value is not None and math.isfinite(value) else None


def _csv_records(path: Path, fields: dict[str, str | None]) -> Iterator[tuple[int, dict]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = [f for f in fields.values() if f and f not in (reader.fieldnames or [])]
        if missing:
            raise AddressFileError(
                f"{path.name}: no column {', '.join(map(repr, missing))} "
                f"(columns: {', '.join(reader.fieldnames or [])})"
            )
        for line, record in enumerate(reader, start=2):
            yield (
                line,
                {
                    "address": record.get(fields["address"]) or "",
                    "lat": _number(record.get(fields["lat"])),
                    "long": _number(record.get(fields["long"])),
                    "zipcode": record.get(fields["zipcode"]) if fields["zipcode"] else None,
                    "id": record.get(fields["id"]) if fields["id"] else None,
                },
            )


def _geojson_records(path: Path, fields: dict[str, str | None]) -> Iterator[tuple[int, dict]]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AddressFileError(f"{path.name}: cannot read JSON ({exc})") from None
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(features, list):
        raise AddressFileError(f"{path.name}: not a GeoJSON FeatureCollection")
    for index, feature in enumerate(features):
        props = (feature or {}).get("properties") or {}
        geometry = (feature or {}).get("geometry") or {}
        coords = geometry.get("coordinates") if geometry.get("type") == "Point" else None
        long = _number(coords[0]) if coords and len(coords) >= 2 else None
        lat = _number(coords[1]) if coords and len(coords) >= 2 else None
        yield (
            index,
            {
                "address": str(props.get(fields["address"]) or ""),
                "lat": lat,
                "long": long,
                "zipcode": props.get(fields["zipcode"]) if fields["zipcode"] else None,
                "id": props.get(fields["id"]) if fields["id"] else None,
            },
        )


def read_address_points(
    path: Path,
    *,
    address_field: str,
    lat_field: str | None = None,
    long_field: str | None = None,
    zipcode_field: str | None = None,
    id_field: str | None = None,
) -> AddressFile:
    """Address points from a CSV (``lat_field``/``long_field`` name the columns) or a GeoJSON
    FeatureCollection of Points. ``address_id`` is ``id_field``'s value, or the normalised
    address with its ZIP code ("2111 W BELLEVUE AVE 90026"). Duplicate ids keep the first."""
    path = Path(path)
    if not path.is_file():
        raise AddressFileError(f"{path.name}: no such file")
    fields = {
        "address": address_field,
        "lat": lat_field,
        "long": long_field,
        "zipcode": zipcode_field,
        "id": id_field,
    }
    suffix = path.suffix.lower()
    if suffix == ".csv":
        if not (lat_field and long_field):
            raise AddressFileError(f"{path.name}: a CSV needs lat_field and long_field")
        records = _csv_records(path, fields)
    elif suffix in (".geojson", ".json"):
        records = _geojson_records(path, fields)
    else:
        raise AddressFileError(f"{path.name}: address points are read from .csv or .geojson")
    digest = hashlib.sha256(path.read_bytes() + json.dumps(fields, sort_keys=True).encode())

    rows: list[AddressRow] = []
    seen: set[str] = set()
    skipped: list[str] = []
    skipped_count = 0

    def skip(where: int, why: str) -> None:
        nonlocal skipped_count
        skipped_count += 1
        if len(skipped) < 10:
            skipped.append(f"{path.name} row {where}: {why}")

    for where, record in records:
        text = record["address"].strip()
        if not text:
            skip(where, "no address")
            continue
        lat, long = record["lat"], record["long"]
        if lat is None or long is None or not (-90 <= lat <= 90 and -180 <= long <= 180):
            skip(where, "no valid lat/long")
            continue
        normal = normalize(text)
        if not normal.key:
            skip(where, f"cannot read the address {text[:60]!r}")
            continue
        zipcode = str(record["zipcode"]).strip()[:5] if record["zipcode"] else normal.zipcode
        address_id = (
            str(record["id"]).strip()
            if record["id"] not in (None, "")
            else f"{normal.key} {zipcode}".strip()
            if zipcode
            else normal.key
        )
        address_id = address_id[:100]
        if address_id in seen:
            skip(where, f"duplicate address id {address_id!r}")
            continue
        seen.add(address_id)
        rows.append(
            AddressRow(
                address_id,
                text[:500],
                normal.key[:300],
                normal.house_number,
                (normal.street_name or normal.key)[:200],
                normal.predirection,
                normal.street_type,
                zipcode or None,
                long,
                lat,
            )
        )
    if not rows:
        raise AddressFileError(f"{path.name}: no usable address point")
    return AddressFile(rows, skipped, skipped_count, digest.hexdigest())
