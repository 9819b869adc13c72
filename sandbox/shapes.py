"""Values for botocore shapes: a response or request in which every member is set.

The guard copies what the botocore model says; a fully populated Describe response (every
member, nested to a depth) shows that it carries over fields nobody wrote a test for.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from botocore.model import Shape


def example_value(shape: Shape, depth: int = 0, max_depth: int = 6) -> Any:
    """A value for every member of `shape` (one member of a union; lists and maps of one)."""
    if shape.type_name == "structure":
        if depth > max_depth:
            return {}
        members = list(shape.members.items())
        if shape.metadata.get("union"):
            members = members[:1]
        return {name: example_value(member, depth + 1, max_depth) for name, member in members}
    if shape.type_name == "list":
        return [example_value(shape.member, depth + 1, max_depth)]
    if shape.type_name == "map":
        return {"key-1": example_value(shape.value, depth + 1, max_depth)}
    if shape.type_name == "string":
        if shape.enum:
            return shape.enum[0]
        return "x" * max(1, shape.metadata.get("min", 1))
    if shape.type_name in ("integer", "long"):
        return max(1, int(shape.metadata.get("min", 1)))
    if shape.type_name in ("float", "double"):
        return float(max(1, shape.metadata.get("min", 1)))
    if shape.type_name == "boolean":
        return False
    if shape.type_name == "timestamp":
        return dt.datetime(2026, 11, 26, tzinfo=dt.UTC)
    if shape.type_name == "blob":
        return b"x"
    raise ValueError(f"unexpected shape type {shape.type_name}")
