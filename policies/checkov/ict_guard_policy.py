"""The guard's policy for Checkov's custom checks in this folder (not a check itself).

The same judgement as `ict-guard iac` and the guard (ict_guard_cli.create_requests): a resource
without inter-container traffic encryption is a finding when it runs on at least the minimum
instance count (2, the guard's default; ICT_GUARD_MIN_INSTANCE_COUNT changes it), because
encryption has no effect on one instance. A count that is not a literal (a `Ref`, `Fn::If`, a
Terraform variable Checkov could not resolve) is unknown and counts as reaching the minimum; so
does a flag that is not a literal: only a literal true passes.

Checkov loads every `.py` file of an --external-checks-dir folder and puts the folder on sys.path,
so the check files import this module by its name.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

UNKNOWN = None  # an instance count that is not a literal


def min_instance_count() -> int:
    try:
        return max(1, int(os.environ.get("ICT_GUARD_MIN_INSTANCE_COUNT", "2")))
    except ValueError:
        return 2


def literal_true(value: Any) -> bool:
    """CloudFormation accepts true or "true" (any case); Checkov's Terraform parser gives [True]."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def count(value: Any) -> int | None:
    """An instance count as a number, or UNKNOWN where it is not a literal."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, bool):
        return UNKNOWN
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return UNKNOWN


def total(counts: Iterable[int | None]) -> int | None:
    """The sum over instance groups; unknown if any group's count is."""
    result = 0
    for value in counts:
        if value is UNKNOWN:
            return UNKNOWN
        result += value
    return result


def needs_encryption(instances: int | None) -> bool:
    return instances is UNKNOWN or instances >= min_instance_count()


def at(container: Any, *path: str | int) -> Any:
    """The value at `path` through mappings and lists, None where a step is missing."""
    for step in path:
        try:
            container = container[step]
        except (KeyError, IndexError, TypeError):
            return None
    return container
