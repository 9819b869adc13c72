"""Fixtures of the template tier: template.yaml and events/, read once per session."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sandbox.template import EVENTS_DIR, load_template


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="session")
def manifest() -> dict[str, Any]:
    return json.loads((EVENTS_DIR / "manifest.json").read_text(encoding="utf-8"))
