"""Normalising free-text US street addresses into a match key.

An Open311 client may send a location as free text (``address_string``). The database keeps, for
each address point of a jurisdiction, the key this module computes from the point's address; a
request's text is resolved by looking its key up exactly, then fuzzily (pg_trgm similarity on the
same key). Only the text side lives here: pure functions, no I/O, stdlib only (``geo`` is a leaf).

    >>> normalize("2111 West Bellevue Avenue, Apt 3, Los Angeles, CA 90026-1234").key
    '2111 W BELLEVUE AVE'

The rules, and why:

* Upper case, single spaces. Periods, commas, apostrophes ("O'MELVENY" -> "OMELVENY") and other
  punctuation go; the only punctuation left in a key is the slash of a house-number fraction.
* House number: the leading token when it is digits, optionally followed by one letter
  ("123A") or a digit range ("12-34"). A fraction is kept, separated by one space, the way Los
  Angeles writes it: "2111 1/2", "2111-1/2", "2111½" all give house_number "2111 1/2" (the half
  address is a different address point from 2111). "1200 block of Main St" gives "1200".
* Directions: North/N./N, Northeast/N.E./NE... become N S E W NE NW SE SW. The first word is a
  predirection only when a street name follows it ("North Broadway" -> "N BROADWAY", but in
  "N St" or "West Blvd" the direction IS the name, kept as written). Only one predirection is taken:
  "E SOUTH VENICE BLVD" keeps "SOUTH VENICE" as the name. A direction after the street type is the
  postdirection ("SATICOY ST SOUTH" -> "SATICOY ST S", "35th Street Northwest" -> "35TH ST NW").
* Street type: the last word, when a name precedes it, is mapped to its USPS Publication 28
  abbreviation (Avenue/Av/Ave. -> AVE, Road -> RD, Lane -> LN, Wy -> WAY, Frwy -> FWY...). Only the
  last word: "LAUREL CANYON BLVD" keeps CANYON in the name. Words that are far more often names
  than types (Canyon, View, Vista, Hill, Ridge, Glen, Crest, Point, Heights...) are deliberately
  not types, so "123 Laurel Canyon" (type left out by the resident) keeps the word as written and
  still fuzzily matches "123 N LAUREL CANYON BLVD".
* Street name: "Saint"/"St" at the START of a name is written "ST", as the Los Angeles data does
  ("ST ANDREWS PL"); "Mount" at the start becomes "MT" (LA writes both; one spelling helps the
  match). Ordinals: "1st"/"1ST"/"2th" -> "1ST"/"2ND"; ordinal words when they are the whole name
  ("First", "Twenty-First") -> "1ST", "21ST". "Ave 58"/"Avenue 58" -> "AVENUE 58" (a name, as in
  Highland Park), likewise "TERRACE 49".
* Unit: "APT 4B", "Unit 12", "#7", "Ste 100", "Spc 12", "Rear"... -> unit "4B", "12", "7", "100",
  "12", "REAR": designator dropped, hyphens dropped, leading zeros of a numeric unit dropped
  ("#APT 000002" -> "2"). A bare number after the street type is a unit ("123 Main St 4"),
  except after route-like types (HWY, RTE...). Units are not part of the key.
* Tail: ", Los Angeles, CA 90026", " Los Angeles CA 90026-1234", ", USA": the ZIP (ZIP+4 cut to
  5 digits) is kept in ``zipcode``, the state is dropped, the city kept in ``city``. A state word
  is only taken when it is unmistakable: after a comma or before a ZIP, or a two-letter code that
  is not also a street word (CT, AL, WY, NE are Court, Alley, Way, Northeast) - and never when it
  would leave no street name ("123 N Vermont 90027" is Vermont Ave, not the state). Without
  commas, the city is recognised only after a street type or a unit, and only when a state or ZIP
  follows ("100 S Broadway Los Angeles CA" keeps LOS ANGELES in the name: there is no way to tell).
* Intersections: "A AT B", "A & B", "A and B", "A @ B", "A / B", "corner of A and B" ->
  ``intersection`` = the two street keys sorted, ``key`` = "A & B" in that order, no house
  number. A text that starts with a house number is an address, not an intersection: what follows
  the separator (a cross street) is dropped.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = [
    "NormalizedAddress",
    "normalize",
    "similarity_key",
    "standard_direction",
    "standard_suffix",
]


@dataclass(frozen=True, slots=True)
class NormalizedAddress:
    house_number: str | None = None  # "2111", "2111 1/2", "123A"
    predirection: str | None = None  # N S E W NE NW SE SW
    street_name: str | None = None  # upper-case words: "BELLEVUE", "ST ANDREWS", "1ST"
    street_type: str | None = None  # USPS abbreviation: AVE, ST, BLVD...
    postdirection: str | None = None
    unit: str | None = None  # "4B": designator dropped; not part of the key
    city: str | None = None
    zipcode: str | None = None  # 5 digits
    key: str = ""  # "2111 W BELLEVUE AVE"; intersections "1ST ST & MAIN ST"
    street_key: str = ""  # key without the house number
    intersection: tuple[str, str] | None = None  # the two street keys, sorted

    @property
    def is_intersection(self) -> bool:
        return self.intersection is not None


# --- vocabularies -------------------------------------------------------------------------------

_DIRECTIONS = {
    "N": "N",
    "NORTH": "N",
    "S": "S",
    "SOUTH": "S",
    "E": "E",
    "EAST": "E",
    "W": "W",
    "WEST": "W",
    "NE": "NE",
    "NORTHEAST": "NE",
    "NW": "NW",
    "NORTHWEST": "NW",
    "SE": "SE",
    "SOUTHEAST": "SE",
    "SW": "SW",
    "SOUTHWEST": "SW",
}

# USPS Publication 28, appendix C1 (the usual spellings of the types a city street carries).
_TYPE_SPELLINGS = {
    "ALY": "ALLEY ALLEE ALLY ALY AL",
    "ARC": "ARCADE ARC",
    "AVE": "AVENUE AVE AV AVEN AVENU AVN AVNUE",
    "BLVD": "BOULEVARD BLVD BOUL BOULV BLV",
    "BYP": "BYPASS BYP BYPA BYPAS BYPS",
    "CSWY": "CAUSEWAY CSWY CAUSWA",
    "CTR": "CENTER CTR CEN CENT CENTR CENTRE CNTER CNTR",
    "CIR": "CIRCLE CIR CIRC CIRCL CRCL CRCLE",
    "CT": "COURT CT CRT",
    "CV": "COVE CV",
    "CRES": "CRESCENT CRES CRSENT CRSNT",
    "XING": "CROSSING XING CRSSNG",
    "DR": "DRIVE DR DRIV DRV",
    "EXPY": "EXPRESSWAY EXPY EXP EXPR EXPRESS EXPW",
    "EXT": "EXTENSION EXT EXTN EXTNSN",
    "FWY": "FREEWAY FWY FREEWY FRWAY FRWY",
    "GRN": "GREEN GRN",
    "HWY": "HIGHWAY HWY HIGHWY HIWAY HIWY HWAY",
    "LN": "LANE LN",
    "LOOP": "LOOP LOOPS",
    "MALL": "MALL",
    "MEWS": "MEWS",
    "PARK": "PARK PRK",
    "PKWY": "PARKWAY PKWY PARKWY PKWAY PKY PARKWAYS PKWYS",
    "PATH": "PATH PATHS",
    "PIKE": "PIKE PIKES",
    "PL": "PLACE PL",
    "PLZ": "PLAZA PLZ PLZA",
    "RD": "ROAD RD",
    "RTE": "ROUTE RTE",
    "ROW": "ROW",
    "SQ": "SQUARE SQ SQR SQRE SQU",
    "ST": "STREET ST STR STRT",
    "TER": "TERRACE TER TERR",
    "TPKE": "TURNPIKE TPKE TRNPK TURNPK",
    "TRL": "TRAIL TRL TRAILS TRLS TR",
    "WALK": "WALK WALKS",
    "WAY": "WAY WY",
}
_TYPES = {
    spelling: std for std, spellings in _TYPE_SPELLINGS.items() for spelling in spellings.split()
}
# Types after which a bare number is part of the road (HWY 1), not a unit.
_ROUTE_TYPES = frozenset({"HWY", "RTE", "FWY", "EXPY", "TPKE", "PIKE", "RD", "BYP"})

# Unit designators followed by an identifier; and those that stand alone (USPS C2).
_UNIT_WITH_ID = frozenset(
    {
        "#",
        "APT",
        "APARTMENT",
        "UNIT",
        "STE",
        "SUITE",
        "RM",
        "ROOM",
        "FL",
        "FLR",
        "FLOOR",
        "BLDG",
        "BUILDING",
        "SPC",
        "SPACE",
        "LOT",
        "TRLR",
        "DEPT",
        "HNGR",
        "PH",
        "NO",
    }
)
_UNIT_STRONG = frozenset({"#", "APT", "APARTMENT", "UNIT", "STE", "SUITE"})
_UNIT_ALONE = frozenset({"REAR", "FRNT", "UPPR", "LOWR", "BSMT", "LBBY", "OFC"})

_STATES = {
    "AL": "ALABAMA",
    "AK": "ALASKA",
    "AZ": "ARIZONA",
    "AR": "ARKANSAS",
    "CA": "CALIFORNIA",
    "CO": "COLORADO",
    "CT": "CONNECTICUT",
    "DE": "DELAWARE",
    "DC": "DISTRICT OF COLUMBIA",
    "FL": "FLORIDA",
    "GA": "GEORGIA",
    "HI": "HAWAII",
    "ID": "IDAHO",
    "IL": "ILLINOIS",
    "IN": "INDIANA",
    "IA": "IOWA",
    "KS": "KANSAS",
    "KY": "KENTUCKY",
    "LA": "LOUISIANA",
    "ME": "MAINE",
    "MD": "MARYLAND",
    "MA": "MASSACHUSETTS",
    "MI": "MICHIGAN",
    "MN": "MINNESOTA",
    "MS": "MISSISSIPPI",
    "MO": "MISSOURI",
    "MT": "MONTANA",
    "NE": "NEBRASKA",
    "NV": "NEVADA",
    "NH": "NEW HAMPSHIRE",
    "NJ": "NEW JERSEY",
    "NM": "NEW MEXICO",
    "NY": "NEW YORK",
    "NC": "NORTH CAROLINA",
    "ND": "NORTH DAKOTA",
    "OH": "OHIO",
    "OK": "OKLAHOMA",
    "OR": "OREGON",
    "PA": "PENNSYLVANIA",
    "RI": "RHODE ISLAND",
    "SC": "SOUTH CAROLINA",
    "SD": "SOUTH DAKOTA",
    "TN": "TENNESSEE",
    "TX": "TEXAS",
    "UT": "UTAH",
    "VT": "VERMONT",
    "VA": "VIRGINIA",
    "WA": "WASHINGTON",
    "WV": "WEST VIRGINIA",
    "WI": "WISCONSIN",
    "WY": "WYOMING",
    "PR": "PUERTO RICO",
    "GU": "GUAM",
    "VI": "VIRGIN ISLANDS",
    "AS": "AMERICAN SAMOA",
    "MP": "NORTHERN MARIANA ISLANDS",
}
# State spellings as token tuples (plus a few common abbreviations), by last word, longest first.
_STATE_SPELLINGS: dict[str, list[tuple[str, ...]]] = {}
for _spelling in sorted(
    {(code,) for code in _STATES}
    | {tuple(name.split()) for name in _STATES.values()}
    | {("CALIF",), ("CAL",), ("MASS",), ("PENN",), ("WASH",), ("D", "C")},
    key=len,
    reverse=True,
):
    _STATE_SPELLINGS.setdefault(_spelling[-1], []).append(_spelling)
del _spelling
# Codes that are also street words at the end of a street: taken only after a comma or before a ZIP.
_AMBIGUOUS_STATES = frozenset({"CT", "AL", "WY", "NE", "CAL", "WASH", "PENN", "MASS"})
_COUNTRIES = frozenset(
    {
        ("USA",),
        ("US",),
        ("U", "S", "A"),
        ("U", "S"),
        ("UNITED", "STATES"),
        ("UNITED", "STATES", "OF", "AMERICA"),
        ("AMERICA",),
    }
)

_ORDINAL_UNITS = {
    "FIRST": 1,
    "SECOND": 2,
    "THIRD": 3,
    "FOURTH": 4,
    "FIFTH": 5,
    "SIXTH": 6,
    "SEVENTH": 7,
    "EIGHTH": 8,
    "NINTH": 9,
    "TENTH": 10,
    "ELEVENTH": 11,
    "TWELFTH": 12,
    "THIRTEENTH": 13,
    "FOURTEENTH": 14,
    "FIFTEENTH": 15,
    "SIXTEENTH": 16,
    "SEVENTEENTH": 17,
    "EIGHTEENTH": 18,
    "NINETEENTH": 19,
    "TWENTIETH": 20,
    "THIRTIETH": 30,
    "FORTIETH": 40,
    "FIFTIETH": 50,
    "SIXTIETH": 60,
    "SEVENTIETH": 70,
    "EIGHTIETH": 80,
    "NINETIETH": 90,
    "HUNDREDTH": 100,
}
_TENS = {
    "TWENTY": 20,
    "THIRTY": 30,
    "FORTY": 40,
    "FIFTY": 50,
    "SIXTY": 60,
    "SEVENTY": 70,
    "EIGHTY": 80,
    "NINETY": 90,
}

_NAME_SUFFIXES = frozenset({"JR", "SR", "II", "III", "IV"})
_SIGNS = frozenset({"#", "&", "@", "/"})
_SEPARATORS = frozenset({"AT", "&", "AND", "@", "/"})
_FILLER_WORDS = frozenset({"ON", "AT", "THE", "CORNER", "INTERSECTION", "OF"})
_NAME_PREFIXES = {"SAINT": "ST", "ST": "ST", "MOUNT": "MT", "MT": "MT"}
_NUMBERED_NAMES = {
    "AVENUE": "AVENUE",
    "AVE": "AVENUE",
    "AV": "AVENUE",
    "TERRACE": "TERRACE",
    "TER": "TERRACE",
    "TERR": "TERRACE",
}

# --- regular expressions ------------------------------------------------------------------------

_FRACTION_CHARS = str.maketrans({"½": " 1/2", "¼": " 1/4", "¾": " 3/4"})
_DOTTED_DIRECTION = re.compile(r"\b([NS])\s*\.\s*([EW])\b\.?")
# Tokens: words, with their inner hyphens and slashes (split again below), and the signs we read.
_TOKEN = re.compile(r"[A-Z0-9]+(?:[-/][A-Z0-9]+)*|[#&@,/]")
_ZIP = re.compile(r"^(\d{5})(?:-?\d{4})?$")
_HOUSE = re.compile(r"^(\d+(?:-\d+)?)-?([A-Z]?)(?:-(\d+/\d+))?$")
_FRACTION = re.compile(r"^\d+/\d+$")
_NUMERIC_ORDINAL = re.compile(r"^(\d+)(?:ST|ND|RD|TH)$")
_ROADWAY_SIDE = frozenset({"N/R", "S/R", "E/R", "W/R"})  # LA: "EXPOSITION BOULEVARD N/R"


# --- public API ---------------------------------------------------------------------------------


def standard_direction(word: str) -> str | None:
    """The abbreviation of a direction word ("North" -> "N"), or None."""
    return _DIRECTIONS.get(word.strip(" .").upper())


def standard_suffix(word: str) -> str | None:
    """The USPS abbreviation of a street type word ("Avenue", "AV" -> "AVE"), or None."""
    return _TYPES.get(word.strip(" .").upper())


def similarity_key(text: str) -> str:
    """What the database indexes (and searches, exactly then by trigram similarity): the key."""
    return normalize(text).key


def normalize(text: str) -> NormalizedAddress:
    """Parse free text into a NormalizedAddress. Never raises on a string; may leave fields None."""
    segments = _segments(text)
    segments, zipcode, inline_tail = _strip_tail(segments)
    if not segments:
        return NormalizedAddress(zipcode=zipcode)

    # "2111, W Bellevue Ave": a lone house number before the first comma.
    if len(segments) > 1 and len(segments[0]) == 1 and _HOUSE.match(segments[0][0]):
        segments[0:2] = [segments[0] + segments[1]]
    street, unit, city = segments[0], None, None
    for segment in segments[1:]:
        if _is_unit_segment(segment):
            unit = unit or _unit_of(segment)
        else:
            city = " ".join(segment)

    street = _strip_filler(street)
    while street and street[0] in _SIGNS:
        street = street[1:]
    while street and street[-1] in _SIGNS:
        street = street[:-1]
    if not street:
        return NormalizedAddress(unit=unit, city=city, zipcode=zipcode)
    separator = _separator_index(street)
    if separator is not None and not _HOUSE.match(street[0]):
        first, second = street[:separator], street[separator + 1 :]
        second, _, trailing_city = _split_unit_and_city(second, inline_tail)
        street_keys = sorted(
            (_street_key(*_street_parts(first)), _street_key(*_street_parts(second)))
        )
        key = f"{street_keys[0]} & {street_keys[1]}"
        return NormalizedAddress(
            city=city or trailing_city,
            zipcode=zipcode,
            key=key,
            street_key=key,
            intersection=(street_keys[0], street_keys[1]),
        )
    if separator is not None:  # "123 Main St and 5th": the cross street is only a hint
        street = street[:separator]

    house_number, rest = _house_number(street)
    rest, trailing_unit, trailing_city = _split_unit_and_city(rest, inline_tail)
    predirection, name, street_type, postdirection = _street_parts(rest)
    street_key = _street_key(predirection, name, street_type, postdirection)
    key = (
        f"{house_number} {street_key}"
        if house_number and street_key
        else (house_number or street_key)
    )
    return NormalizedAddress(
        house_number=house_number,
        predirection=predirection,
        street_name=" ".join(name) or None,
        street_type=street_type,
        postdirection=postdirection,
        unit=unit or trailing_unit,
        city=city or trailing_city,
        zipcode=zipcode,
        key=key,
        street_key=street_key,
    )


# --- steps --------------------------------------------------------------------------------------


def _segments(text: str) -> list[list[str]]:
    """Upper-cased tokens, grouped by the commas of the text (empty groups dropped)."""
    s = text.upper()
    if not s.isascii():  # "2111½", "O’Melveny", "Cañada" -> "2111 1/2", "O'MELVENY", "CANADA"
        s = unicodedata.normalize("NFKD", s.translate(_FRACTION_CHARS).replace("\u2019", "'"))
        s = s.encode("ascii", "ignore").decode("ascii")
    if "." in s:
        s = _DOTTED_DIRECTION.sub(r"\1\2", s)  # N.W. / N. W. -> NW
    if "'" in s:
        s = s.replace("'", "")  # O'MELVENY -> OMELVENY
    segments: list[list[str]] = []
    current: list[str] = []
    for word in _TOKEN.findall(s):
        if word == ",":
            if current:
                segments.append(current)
            current = []
        elif "-" in word or "/" in word:
            current.extend(_split_joined(word, first=not current and not segments))
        else:
            current.append(word)
    if current:
        segments.append(current)
    # "MARTIN LUTHER KING, JR BLVD" (so written in the LA data): the comma is inside the name.
    i = 1
    while i < len(segments):
        if segments[i][0] in _NAME_SUFFIXES:
            segments[i - 1 : i + 1] = [segments[i - 1] + segments[i]]
        else:
            i += 1
    return segments


def _split_joined(token: str, first: bool) -> list[str]:
    """Keep 2111-1/2, 1/2, 90026-1234, N/R, "4-B" (hyphens with a digit); split the rest.

    "TWENTY-FIRST" -> TWENTY FIRST, "SUNSET/VINE" -> SUNSET / VINE. A hyphen kept in a unit is
    dropped later; one kept in a street name ("I-405") is made a space.
    """
    if _FRACTION.match(token) or token in _ROADWAY_SIDE or (first and _HOUSE.match(token)):
        return [token]
    parts: list[str] = []
    for piece in re.split(r"(/)", token):
        if piece == "/":
            parts.append("/")
        elif any(c.isdigit() for c in piece):
            parts.append(piece.strip("-"))
        elif piece:
            parts.extend(p for p in piece.split("-") if p)
    return parts


def _strip_tail(segments: list[list[str]]) -> tuple[list[list[str]], str | None, bool]:
    """Drop a trailing country, ZIP and state.

    Returns (segments, zipcode, inline): inline when the ZIP or state was cut from the street's
    own segment (no commas), the only case where a city may still hide at the end of the street.
    """
    if not segments:
        return segments, None, False
    last = segments[-1]
    # Country: a whole segment, or directly after a ZIP.
    for n in (4, 3, 2, 1):
        if len(last) >= n and tuple(last[-n:]) in _COUNTRIES:
            if len(last) == n and len(segments) > 1:
                segments.pop()
                last = segments[-1]
            elif len(last) > n and _ZIP.match(last[-n - 1]):
                del last[-n:]
            break

    zipcode = None
    inline = False  # whether a ZIP or state was cut from a segment that remains
    if zip_match := _ZIP.match(last[-1]):
        last.pop()
        zipcode = zip_match[1]
        inline = True
        if not last:
            segments.pop()
            inline = False
            if not segments:
                return segments, zipcode, False
            last = segments[-1]

    for spelling in _STATE_SPELLINGS.get(last[-1], ()):
        n = len(spelling)
        if len(last) < n or tuple(last[-n:]) != spelling:
            continue
        whole_segment = len(last) == n and len(segments) > 1
        # "..., CA" or "... CA 90026" (the ZIP in the same segment), or an unambiguous code.
        unmistakable = (
            whole_segment
            or inline
            or (n == 1 and len(spelling[0]) == 2 and spelling[0] not in _AMBIGUOUS_STATES)
        )
        if unmistakable and (whole_segment or _has_name(last[:-n])):
            if whole_segment:
                segments.pop()
            else:
                del last[-n:]
                inline = True
        break
    return segments, zipcode, inline and len(segments) == 1


def _has_name(tokens: list[str]) -> bool:
    """Whether a street name is left: a word that is not the house number or a direction."""
    start = 1 if tokens and _HOUSE.match(tokens[0]) else 0
    return any(t not in _DIRECTIONS and not _FRACTION.match(t) for t in tokens[start:])


def _is_unit_segment(segment: list[str]) -> bool:
    head = segment[0]
    if head in _UNIT_WITH_ID or head in _UNIT_ALONE:
        return True
    # "..., 4B, ..." or "..., B, ...": a lone identifier
    return len(segment) == 1 and (len(head) == 1 or any(c.isdigit() for c in head))


def _unit_of(tokens: list[str]) -> str | None:
    """The unit identifier in "APT 4B", "# APT 000002", "4B", "REAR"."""
    ids = [t for t in tokens if t not in _UNIT_WITH_ID]
    if not ids:
        return None
    if ids[0] in _UNIT_ALONE and len(ids) == 1:
        return ids[0]
    return _clean_unit(ids[0])


def _clean_unit(unit: str) -> str:
    unit = unit.replace("-", "").replace("/", "")
    return (unit.lstrip("0") or "0") if unit.isdigit() else unit


def _strip_filler(tokens: list[str]) -> list[str]:
    """Drop "corner of", "at the intersection of"... before an intersection."""
    if "OF" not in tokens[:5]:
        return tokens
    i = 0
    while i < len(tokens) and tokens[i] in _FILLER_WORDS:
        i += 1
    if i and tokens[i - 1] == "OF" and i < len(tokens):
        return tokens[i:]
    return tokens


def _separator_index(tokens: list[str]) -> int | None:
    for i in range(1, len(tokens) - 1):
        if tokens[i] in _SEPARATORS:
            return i
    return None


def _house_number(tokens: list[str]) -> tuple[str | None, list[str]]:
    if not tokens:
        return None, tokens
    match = _HOUSE.match(tokens[0])
    if not match:
        return None, tokens
    number, fraction = match[1] + match[2], match[3]  # "123-B" -> "123B"
    rest = tokens[1:]
    if fraction is None and rest and _FRACTION.match(rest[0]):
        fraction, rest = rest[0], rest[1:]
    if rest and rest[0] in ("BLOCK", "BLK"):  # "1200 block of Main St"
        rest = rest[2:] if len(rest) > 1 and rest[1] == "OF" else rest[1:]
    return (f"{number} {fraction}" if fraction else number), rest


def _name_before(tokens: list[str], index: int) -> bool:
    """Whether a word other than a direction comes before tokens[index]."""
    return any(t not in _DIRECTIONS for t in tokens[:index])


def _split_unit_and_city(
    tokens: list[str], inline_tail: bool
) -> tuple[list[str], str | None, str | None]:
    """Split street tokens (house number removed) into (street, unit, city)."""
    for i in range(1, len(tokens)):
        word = tokens[i]
        if word in _UNIT_WITH_ID and _name_before(tokens, i):
            j = i + 1
            while j < len(tokens) and tokens[j] in _UNIT_WITH_ID:  # "# APT 2", "APT # 2"
                j += 1
            if j == len(tokens):
                if word == "#":
                    return tokens[:i], None, None
                continue
            unit = tokens[j]
            if word not in _UNIT_STRONG and not (any(c.isdigit() for c in unit) or len(unit) == 1):
                continue  # "SPACE PARK DR", "LOT" in a name
            city = " ".join(tokens[j + 1 :]) or None
            return tokens[:i], _clean_unit(unit), city
        if (
            word in _UNIT_ALONE
            and _name_before(tokens, i)
            and (i == len(tokens) - 1 or inline_tail)
        ):
            return tokens[:i], word, " ".join(tokens[i + 1 :]) or None

    # A bare number after the type: "2111 W Bellevue Ave 3" (not "Highway 1", not "Avenue 58").
    end = len(tokens)
    if end >= 3 and any(c.isdigit() for c in tokens[-1]) and not _FRACTION.match(tokens[-1]):
        k = end - 2
        if tokens[k] in _DIRECTIONS and k >= 2 and tokens[k - 1] in _TYPES:
            k -= 1
        street_type = _TYPES.get(tokens[k])
        if street_type and street_type not in _ROUTE_TYPES and _name_before(tokens, k):
            return tokens[:-1], _clean_unit(tokens[-1]), None

    # "2111 W Bellevue Ave Los Angeles" - only when a state or ZIP said a city may be there.
    if inline_tail:
        for k in range(len(tokens) - 2, 0, -1):
            if tokens[k] in _TYPES and _name_before(tokens, k):
                j = k + 1
                if tokens[j] in _DIRECTIONS:
                    j += 1
                trailing = tokens[j:]
                if trailing and all(t.isalpha() for t in trailing):
                    return tokens[:j], None, " ".join(trailing)
                break
    return tokens, None, None


def _street_parts(tokens: list[str]) -> tuple[str | None, list[str], str | None, str | None]:
    """(predirection, name words, type, postdirection) of a street without its house number."""
    t = [token for token in tokens if token not in _SIGNS]
    predirection = street_type = postdirection = None
    if len(t) >= 3 and t[-1] in _DIRECTIONS and t[-2] in _TYPES:
        postdirection, t = _DIRECTIONS[t[-1]], t[:-1]
    if len(t) >= 2 and t[-1] in _TYPES:
        street_type, t = _TYPES[t[-1]], t[:-1]
    if len(t) >= 2 and t[0] in _DIRECTIONS:
        predirection, t = _DIRECTIONS[t[0]], t[1:]
    return predirection, _normal_name(t), street_type, postdirection


def _normal_name(words: list[str]) -> list[str]:
    if not words:
        return words
    ordinal = _ordinal_words(words)
    if ordinal is not None:
        return [ordinal]
    words = [_fix_ordinal(p) for w in words for p in w.split("-") if p]
    if len(words) >= 2:
        first = words[0]
        if first in _NAME_PREFIXES:
            words = [_NAME_PREFIXES[first], *words[1:]]
        elif first in _NUMBERED_NAMES and len(words) == 2 and words[1].isdigit():
            words = [_NUMBERED_NAMES[first], words[1]]
    return words


def _ordinal_words(words: list[str]) -> str | None:
    """ "FIRST" -> "1ST", "TWENTY FIRST" -> "21ST", when the ordinal is the whole name."""
    if len(words) == 1 and words[0] in _ORDINAL_UNITS:
        return _ordinal(_ORDINAL_UNITS[words[0]])
    if len(words) == 2 and words[0] in _TENS and words[1] in _ORDINAL_UNITS:
        unit = _ORDINAL_UNITS[words[1]]
        if unit < 10:
            return _ordinal(_TENS[words[0]] + unit)
    return None


def _fix_ordinal(word: str) -> str:
    match = _NUMERIC_ORDINAL.match(word)
    return _ordinal(int(match[1])) if match else word


def _ordinal(n: int) -> str:
    if 10 <= n % 100 <= 20:
        suffix = "TH"
    else:
        suffix = {1: "ST", 2: "ND", 3: "RD"}.get(n % 10, "TH")
    return f"{n}{suffix}"


def _street_key(
    predirection: str | None, name: list[str], street_type: str | None, postdirection: str | None
) -> str:
    parts = [predirection, *name, street_type, postdirection]
    return " ".join(p for p in parts if p)
