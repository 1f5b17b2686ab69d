"""The OGC API's HTML pages (conformance class html): what a browser shows of each JSON
document, every value escaped."""

from __future__ import annotations

from typing import Any

from markupsafe import escape

STYLE = (
    "body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;padding:0 1em}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25em .5em;"
    "text-align:left;vertical-align:top}th{background:#f4f4f4}"
)


def _as_html(href: str) -> str:
    return href + ("&" if "?" in href else "?") + "f=html"


def _links(links: list[dict[str, Any]]) -> str:
    items = "".join(
        f'<li><a href="{escape(_as_html(link["href"]))}">'
        f"{escape(link.get('title') or link['rel'])}</a> ({escape(link['rel'])}, "
        f'<a href="{escape(link["href"])}">{escape(link.get("type", ""))}</a>)</li>'
        for link in links
    )
    return f"<h2>Links</h2><ul>{items}</ul>" if items else ""


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p>None.</p>"
    columns = list(dict.fromkeys(k for row in rows for k in row))
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{escape('' if row.get(c) is None else row.get(c))}</td>" for c in columns)
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _content(payload: dict[str, Any]) -> str:
    if payload.get("type") == "FeatureCollection":
        counts = ", ".join(
            f"{name} {escape(payload[name])}"
            for name in ("numberReturned", "numberMatched")
            if name in payload
        )
        rows = [{"id": f.get("id"), **(f.get("properties") or {})} for f in payload["features"]]
        return f"<p>{counts}</p>" + _table(rows)
    if payload.get("type") == "Feature":
        geometry = payload.get("geometry") or {}
        return _table([{"id": payload.get("id"), **(payload.get("properties") or {})}]) + (
            f"<p>Geometry: {escape(geometry.get('type', 'none'))}</p>"
        )
    if "collections" in payload:
        rows = [
            {"id": c["id"], "title": c.get("title"), "description": c.get("description")}
            for c in payload["collections"]
        ]
        return _table(rows)
    if "conformsTo" in payload:
        return "<ul>" + "".join(f"<li>{escape(c)}</li>" for c in payload["conformsTo"]) + "</ul>"
    if "properties" in payload and "$schema" in payload:  # queryables
        return _table([{"name": name, **spec} for name, spec in payload["properties"].items()])
    return f"<p>{escape(payload.get('description', ''))}</p>"


def page(payload: dict[str, Any], site_name: str) -> str:
    """A JSON document of the OGC API as an HTML page."""
    title = payload.get("title") or payload.get("id") or site_name
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}'
        f"</title><style>{STYLE}</style></head><body><h1>{escape(title)}</h1>"
        f"{_content(payload)}{_links(payload.get('links', []))}</body></html>"
    )
