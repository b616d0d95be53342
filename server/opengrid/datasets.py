"""Dataset rows and the dataset query: filter, geo filter, sort, limit, GeoJSON. No HTTP.

Rows are read-only through the API, so each dataset keeps its rows in memory with their
coordinates in numpy arrays: a geoFilter is one vectorised shapely call over all points,
and mongomock then evaluates `q` on the rows inside the shape only.
"""
from __future__ import annotations

from datetime import datetime

import numpy as np
import shapely
from bson import ObjectId
from mongomock.filtering import resolve_sort_key
from shapely.errors import GEOSException
from shapely.geometry import shape as geojson_shape

from .errors import ClientError, DataError
from .fastfilter import compile_filter
from .mongoq import RegexTimeout, parse_date_text

DATE_FORMAT = "%m/%d/%Y %I:%M:%S %p"
GEO_TYPES = ("Polygon", "MultiPolygon")


class DatasetRows:
    """One dataset's rows, with an index of their points."""

    def __init__(self, rows: list[dict]) -> None:
        self.rows = rows
        self.xs = np.array([_number(row.get("long")) for row in rows], dtype=float)
        self.ys = np.array([_number(row.get("lat")) for row in rows], dtype=float)

    def __len__(self) -> int:
        return len(self.rows)

    def select(self, flt: dict, geometry, sort: list[tuple[str, int]] | None, limit: int | None) -> list[dict]:
        if limit == 0:
            # Still evaluate the filter on one row so a bad filter is reported.
            if flt and self.rows:
                self._match(flt, self.rows[:1])
            return []
        if geometry is not None:
            inside = shapely.intersects_xy(geometry, self.xs, self.ys)
            candidates = [self.rows[i] for i in np.flatnonzero(inside)]
        else:
            candidates = self.rows
        matched = self._match(flt, candidates) if flt else list(candidates)
        for key, direction in reversed(sort or []):
            _sort(matched, key, direction < 0)
        return matched if limit is None else matched[:limit]

    @staticmethod
    def _match(flt: dict, rows: list[dict]) -> list[dict]:
        try:
            predicate = compile_filter(flt)
            return [row for row in rows if predicate(row)]
        except RegexTimeout:
            raise
        except Exception as exc:  # mongomock's OperationFailure, NotImplementedError, TypeError...
            raise DataError(f"Invalid query filter: {exc}") from None


_PLAIN = (str, float, int, datetime)


def _sort(rows: list[dict], key: str, reverse: bool) -> None:
    """Sort in place like MongoDB; a plain key when every row holds the same plain type."""
    kinds = {type(row.get(key)) for row in rows}
    if len(kinds) == 1 and next(iter(kinds)) in _PLAIN:
        rows.sort(key=lambda row: row[key], reverse=reverse)
    elif kinds <= {int, float}:
        rows.sort(key=lambda row: row[key], reverse=reverse)
    else:
        rows.sort(key=lambda row: resolve_sort_key(key, row), reverse=reverse)


def _number(value) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else np.nan


def row_from_fixture(raw: dict, date_columns: set[str]) -> dict:
    """A fixture row (JSON) -> a stored row: ObjectId `_id`, datetimes for date columns."""
    row = dict(raw)
    row["_id"] = ObjectId(raw["_id"]) if isinstance(raw.get("_id"), str) else raw.get("_id") or ObjectId()
    for column in date_columns:
        if isinstance(row.get(column), str):
            row[column] = parse_date_text(row[column]) or row[column]
    return row


def parse_geometry(opts: dict):
    """`opts.geoFilter` -> a shapely geometry, or None when there is none."""
    geo = opts.get("geoFilter")
    if geo is None or geo == "" or geo == {}:
        return None
    if not isinstance(geo, dict) or geo.get("type") not in GEO_TYPES:
        raise ClientError("opts.geoFilter must be a GeoJSON Polygon or MultiPolygon.")
    if not _positions(geo.get("coordinates"), 3 if geo["type"] == "Polygon" else 4):
        raise ClientError(f"opts.geoFilter is not a valid GeoJSON {geo['type']}: its coordinates must be "
                          f"{'rings' if geo['type'] == 'Polygon' else 'polygons of rings'} of [long, lat] numbers.")
    try:
        geometry = geojson_shape(geo)
        if not geometry.is_valid:
            geometry = shapely.make_valid(geometry)
        shapely.prepare(geometry)
    except (GEOSException, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise ClientError(f"opts.geoFilter is not a valid GeoJSON {geo.get('type')}: {exc}") from None
    if geometry.is_empty:
        raise ClientError("opts.geoFilter is an empty geometry.")
    return geometry


def _positions(value, depth: int) -> bool:
    """Arrays nested `depth` deep whose innermost ones are positions of 2 or 3 finite numbers
    (a GeoJSON reader refuses `true` or `"1"` for a number; shapely would take some)."""
    if not isinstance(value, list):
        return False
    if depth == 1:
        return len(value) in (2, 3) and all(_is_number(v) for v in value)
    return all(_positions(item, depth - 1) for item in value)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and bool(np.isfinite(value))


def _property(value):
    if isinstance(value, ObjectId):
        return {"$oid": str(value)}
    if isinstance(value, datetime):
        return value.strftime(DATE_FORMAT)
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def feature_collection(rows: list[dict], descriptor: dict) -> dict:
    columns = [column["id"] for column in descriptor.get("columns", [])]
    features = []
    append = features.append
    for row in rows:
        properties = {}
        for column in columns:
            value = row.get(column, _MISSING)
            if value is _MISSING:
                continue
            kind = type(value)
            if kind is datetime:
                value = value.strftime(DATE_FORMAT)
            elif kind is ObjectId:
                value = {"$oid": str(value)}
            elif kind is float and value != value:
                value = None
            properties[column] = value
        lon, lat = row.get("long"), row.get("lat")
        append({
            "type": "Feature",
            "properties": properties,
            "geometry": {"type": "Point", "coordinates": [lon, lat]} if _is_number(lon) and _is_number(lat) else None,
            "autoPopup": False,
        })
    return {"type": "FeatureCollection", "features": features, "meta": {"view": descriptor}}


_MISSING = object()
