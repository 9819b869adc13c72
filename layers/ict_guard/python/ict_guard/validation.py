"""Typed reading of JSON input (events) with every problem collected, in pydantic's words.

Written by hand, not with pydantic, for the cold start (issue 14): on the bench machine, in fresh
processes after boto3 and Powertools, importing pydantic took 50 ms of CPU, Powertools' parser 3 ms
more, and the settings and event modules with their pydantic models 16 ms, against 10 ms for the
same modules checked by hand: 58 ms of every cold start, the largest single part of the 0.2 by which
the guard missed 1.3x bare boto3 with them. What the guard validates is small and flat (a dozen
typed members of two JSON objects, ten settings), and tests/unit/test_validation.py checks, against
the pydantic models kept there as the reference, that both accept and refuse the same inputs with
the same problem locations.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

# pydantic's messages for the same failures (pydantic_core's error types of the same names).
MISSING = "Field required"
NOT_TEXT = "Input should be a valid string"
NOT_OBJECT = "Input should be a valid dictionary"
NOT_LIST = "Input should be a valid list"
NOT_TIME = "Input should be a valid datetime"
NOT_JSON = "Invalid JSON"
# ... and for an event given as JSON text, in JSON's own terms.
NOT_JSON_OBJECT = "Input should be an object"
NOT_JSON_ARRAY = "Input should be a valid array"


class Invalid(ValueError):
    """Input that does not have the expected shape: every problem, as (location, message)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{where or 'input'}: {what}" for where, what in problems))
        self.problems = problems


def json_object(value: Any) -> tuple[Any, bool]:
    """The event as Powertools' parser takes it (a JSON text is parsed first), and whether it was
    JSON text."""
    if isinstance(value, str | bytes | bytearray):
        try:
            return json.loads(value), True
        except ValueError:
            raise Invalid([("", NOT_JSON)]) from None
    return value, False


class Fields:
    """The members of one JSON object, read with their types checked.

    A missing or mistyped member is recorded in `problems` (never with its value: input may be
    large or sensitive) and read as None, so that one pass reports everything wrong.
    """

    def __init__(self, value: Any, location: str, problems: list[tuple[str, str]], *, from_json: bool = False) -> None:
        self._location = location
        self._problems = problems
        self.from_json = from_json
        self._not_object = NOT_JSON_OBJECT if from_json else NOT_OBJECT
        self.ok = isinstance(value, Mapping)
        self._value: Mapping[str, Any] = value if isinstance(value, Mapping) else {}
        if not self.ok:
            problems.append((location, self._not_object))

    def _where(self, key: str) -> str:
        return f"{self._location}.{key}" if self._location else key

    def _get(self, key: str, required: bool) -> Any:
        if key not in self._value:
            if required and self.ok:
                self._problems.append((self._where(key), MISSING))
            return None
        return self._value[key]

    def text(
        self, key: str, *, required: bool = True, min_length: int = 0, max_length: int | None = None
    ) -> str | None:
        value = self._get(key, required)
        if value is None and (not required or key not in self._value):
            return None
        if not isinstance(value, str):
            self._problems.append((self._where(key), NOT_TEXT))
            return None
        if len(value) < min_length:
            plural = "" if min_length == 1 else "s"
            self._problems.append((self._where(key), f"String should have at least {min_length} character{plural}"))
            return None
        if max_length is not None and len(value) > max_length:
            plural = "" if max_length == 1 else "s"
            self._problems.append((self._where(key), f"String should have at most {max_length} character{plural}"))
            return None
        return value

    def object(self, key: str, *, required: bool = True) -> Any:
        """A member that is itself an object (read by its own Fields), None when optional and absent
        or null."""
        value = self._get(key, required)
        if value is None and (not required or key not in self._value):
            return None
        if not isinstance(value, Mapping):
            self._problems.append((self._where(key), self._not_object))
            return None
        return value

    def texts(self, key: str) -> tuple[str, ...] | None:
        value = self._get(key, True)
        if key not in self._value:
            return None
        if not isinstance(value, list):
            self._problems.append((self._where(key), NOT_JSON_ARRAY if self.from_json else NOT_LIST))
            return None
        bad = [i for i, item in enumerate(value) if not isinstance(item, str)]
        for index in bad:
            self._problems.append((f"{self._where(key)}.{index}", NOT_TEXT))
        return None if bad else tuple(value)

    def time(self, key: str) -> datetime | None:
        """An ISO 8601 text, or a number of seconds since the epoch (pydantic takes both)."""
        value = self._get(key, True)
        if key not in self._value:
            return None
        parsed = _time(value)
        if parsed is None:
            self._problems.append((self._where(key), NOT_TIME))
        return parsed


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None
