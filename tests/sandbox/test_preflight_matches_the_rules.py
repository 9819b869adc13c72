"""The guard's preflight (ict_guard/preflight.py) and the embedded SageMaker's rule table
(sandbox/service_rules.py) are written independently, the second as the service, the first as
what the guard knows of it; they must name the same rules."""

from __future__ import annotations

import pytest

from ict_guard import preflight
from sandbox import service_rules

pytestmark = pytest.mark.sandbox


def test_every_rule_of_the_service_is_checked_before_the_stop_or_has_a_reason_not_to_be() -> None:
    table = {rule.id for rule in service_rules.RULES}
    checked, unchecked = preflight.CHECKED_SERVICE_RULES, set(preflight.UNCHECKED_SERVICE_RULES)
    assert checked | unchecked == table, (sorted(table - checked - unchecked), sorted((checked | unchecked) - table))
    assert not checked & unchecked
    assert all(reason.strip() for reason in preflight.UNCHECKED_SERVICE_RULES.values())
