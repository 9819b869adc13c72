"""The security-group guard's decisions (pure) and its service over fake collaborators."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st

from ict_guard.alerts import AlertAction
from ict_guard.reporting import Reporter
from ict_guard.security_groups import (
    IPSEC_NEEDS,
    Direction,
    SecurityGroupRepairer,
    self_referencing_permission,
)
from ict_guard.settings import Settings
from ict_guard.sg_guard import SecurityGroupGuard, is_managed, needs_to_restore
from sandbox.template import EVENTS_DIR

pytestmark = pytest.mark.unit

GROUP = "sg-0f595941afd7b20fb"
OTHER = "sg-0123456789abcdef0"
BOTH = (Direction.INGRESS, Direction.EGRESS)
MANAGED_TAGS = [{"Key": "ict-guard:managed", "Value": "true"}, {"Key": "team", "Value": "ml"}]


def group(*needs, tags=MANAGED_TAGS, extra_ingress=(), extra_egress=()):
    """A group holding the guard's self-referencing rules for `needs`, plus extra rules."""
    rules = {d: [self_referencing_permission(GROUP, n) for n in needs if n.direction is d] for d in Direction}
    return {
        "GroupId": GROUP,
        "IpPermissions": [*rules[Direction.INGRESS], *extra_ingress],
        "IpPermissionsEgress": [*rules[Direction.EGRESS], *extra_egress],
        "Tags": list(tags),
    }


# -- pure decisions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "managed"),
    [
        (MANAGED_TAGS, True),
        ([{"Key": "ict-guard:managed", "Value": "True"}], True),
        ([{"Key": "ict-guard:managed", "Value": "false"}], False),
        ([{"Key": "ict-guard:managed", "Value": ""}], False),
        ([{"Key": "ict-guard:exempt", "Value": "true"}], False),
        ([], False),
        (None, False),
    ],
)
def test_only_the_managed_tag_set_to_true_makes_a_group_managed(tags, managed):
    assert is_managed({"GroupId": GROUP, "Tags": tags}) is managed


@given(st.sets(st.sampled_from(IPSEC_NEEDS)), st.sets(st.sampled_from(list(Direction)), min_size=1))
def test_what_is_restored_is_exactly_what_is_missing_in_the_changed_directions(present, directions):
    restored = needs_to_restore(group(*present), directions)

    missing = {n for n in IPSEC_NEEDS if n not in present and n.direction in directions}
    assert set(restored) == missing


def test_the_group_is_judged_alone():
    # A rule whose peer is another group covers the need for a job that uses both groups, but
    # the guard does not know which groups a job will use with this one: only the group counts.
    peer_rule = {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": OTHER}]}
    alone = group(extra_ingress=[peer_rule], extra_egress=[peer_rule])

    assert len(needs_to_restore(alone, BOTH)) == 4


def test_allow_all_egress_and_all_traffic_self_rules_cover():
    allow_all = {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    all_self = {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": GROUP}]}

    assert needs_to_restore(group(extra_ingress=[all_self], extra_egress=[allow_all]), BOTH) == []


# -- the service over fakes -------------------------------------------------------------------


class FakeEc2:
    def __init__(self, groups: dict[str, dict[str, Any]], fail: dict[str, str] | None = None):
        self.groups = groups
        self.fail = fail or {}
        self.authorized: list[tuple[str, str, dict[str, Any]]] = []

    def _maybe_fail(self, operation: str) -> None:
        if operation in self.fail:
            raise ClientError({"Error": {"Code": self.fail[operation], "Message": "x"}}, operation)

    def describe_security_groups(self, GroupIds=None, GroupNames=None):
        self._maybe_fail("DescribeSecurityGroups")
        found = [g for g in self.groups.values() if g["GroupId"] in (GroupIds or [])]
        found += [g for g in self.groups.values() if g.get("GroupName") in (GroupNames or [])]
        if not found:
            error = {"Error": {"Code": "InvalidGroup.NotFound", "Message": "x"}}
            raise ClientError(error, "DescribeSecurityGroups")
        return {"SecurityGroups": found}

    def _authorize(self, direction: str, GroupId: str, IpPermissions: list[dict[str, Any]]):
        self._maybe_fail(f"Authorize{direction}")
        (permission,) = IpPermissions
        key = "IpPermissions" if direction == "Ingress" else "IpPermissionsEgress"
        self.groups[GroupId][key].append(permission)
        self.authorized.append((GroupId, direction, permission))
        return {"Return": True}

    def authorize_security_group_ingress(self, **kwargs):
        return self._authorize("Ingress", **kwargs)

    def authorize_security_group_egress(self, **kwargs):
        return self._authorize("Egress", **kwargs)


class FakeAlerts:
    def __init__(self):
        self.published = []

    def publish(self, alert):
        self.published.append(alert)
        return f"message-{len(self.published)}"


class FakeLogger:
    def __init__(self):
        self.records = []
        self.correlation_id = None

    def append_keys(self, **keys):
        pass

    def set_correlation_id(self, value):
        self.correlation_id = value

    def _log(self, level, message, extra=None):
        self.records.append((level, message, extra or {}))

    def info(self, message, extra=None):
        self._log("info", message, extra)

    def warning(self, message, extra=None):
        self._log("warning", message, extra)


class FakeMetrics:
    def __init__(self):
        self.counts: dict[str, int] = {}

    def add_metric(self, name, unit, value):
        self.counts[name] = self.counts.get(name, 0) + value


def make_guard(ec2: FakeEc2, **settings: Any):
    alerts, logger, metrics = FakeAlerts(), FakeLogger(), FakeMetrics()
    guard = SecurityGroupGuard(
        settings=Settings(alert_topic_arn="arn:aws:sns:us-east-1:123456789012:t", **settings),
        ec2=ec2,
        repairer=SecurityGroupRepairer(ec2),
        reporter=Reporter(alerts=alerts, logger=logger, metrics=metrics),
        logger=logger,
        region="us-east-1",
    )
    return guard, alerts, logger, metrics


def event(name: str = "sg-revoke-ingress-ipsec-managed.json") -> dict[str, Any]:
    return json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))


UDP_IN, ESP_IN, UDP_OUT, ESP_OUT = IPSEC_NEEDS


def test_a_revoked_ingress_rule_is_restored_and_the_alert_says_who():
    ec2 = FakeEc2({GROUP: group(ESP_IN, UDP_OUT, ESP_OUT)})
    guard, alerts, _, metrics = make_guard(ec2)

    result = guard.handle(event(), account="123456789012")

    assert result["outcome"] == "restored" and result["rules_added"] == 1
    assert ec2.authorized == [(GROUP, "Ingress", self_referencing_permission(GROUP, UDP_IN))]
    (alert,) = alerts.published
    assert alert.action is AlertAction.SECURITY_GROUPS_RESTORED
    assert alert.initiated_by == "arn:aws:sts::123456789012:assumed-role/NetworkAdmin/bob"
    assert alert.resource_type == "security-group" and alert.name == GROUP
    assert alert.arn == f"arn:aws:ec2:us-east-1:123456789012:security-group/{GROUP}"
    assert alert.rules_added == [{"group_id": GROUP, "direction": "ingress", "protocol": "udp", "port": 500}]
    assert "RevokeSecurityGroupIngress" in alert.reason
    assert alert.severity.value == "MEDIUM"
    text = alert.text()
    assert "NetworkAdmin/bob" in text and "remove its tag ict-guard:managed" in text
    assert "#SecurityGroup:groupId=" + GROUP in text
    assert metrics.counts["SecurityGroupRulesRestored"] == 1
    assert metrics.counts["AlertsSecurityGroupsRestored"] == 1


def test_only_the_directions_the_call_touched_are_restored():
    # Outbound is missing too, but an ingress revoke cannot have removed it: not ours to add.
    ec2 = FakeEc2({GROUP: group(ESP_IN)})
    guard, _, _, _ = make_guard(ec2)

    guard.handle(event(), account="123456789012")

    assert [(g, d) for g, d, _ in ec2.authorized] == [(GROUP, "Ingress")]


def test_a_modify_restores_in_both_directions():
    ec2 = FakeEc2({GROUP: group(UDP_IN, UDP_OUT)})
    guard, _, _, _ = make_guard(ec2)

    result = guard.handle(event("sg-modify-rules-managed.json"))

    assert result["rules_added"] == 2
    assert sorted(d for _, d, _ in ec2.authorized) == ["Egress", "Ingress"]


@pytest.mark.parametrize(
    ("groups", "outcome"),
    [
        ({GROUP: group(*IPSEC_NEEDS)}, "intact"),  # the request removed no IPsec rule
        ({GROUP: group(tags=[])}, "not-managed"),
        ({GROUP: group(tags=[{"Key": "ict-guard:managed", "Value": "false"}])}, "not-managed"),
        ({}, "not-found"),
    ],
)
def test_no_change_and_no_alert(groups, outcome):
    ec2 = FakeEc2(groups)
    guard, alerts, _, _ = make_guard(ec2)

    assert guard.handle(event("sg-revoke-ingress-unrelated.json"))["outcome"] == outcome
    assert ec2.authorized == [] and alerts.published == []


def test_a_removal_found_already_restored_is_alerted_on_with_its_own_caller():
    # Its request removed the UDP 500 self rule, yet the group is whole: an earlier event of
    # another call restored it. This event names who removed it.
    ec2 = FakeEc2({GROUP: group(*IPSEC_NEEDS)})
    guard, alerts, _, _ = make_guard(ec2)

    result = guard.handle(event())

    assert result["outcome"] == "already-restored" and ec2.authorized == []
    [alert] = alerts.published
    assert alert.initiated_by == "arn:aws:sts::123456789012:assumed-role/NetworkAdmin/bob"
    assert alert.initiator_note is None and alert.event_id == event()["detail"]["eventID"]
    assert "removed IPsec rules" in alert.reason


def test_removing_a_redundant_ipsec_rule_is_no_news():
    # The UDP 500 self rule is gone, but an all-traffic self rule still covers the group: the
    # removal took nothing away, and nobody restored anything.
    all_traffic = {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": GROUP}]}
    ec2 = FakeEc2({GROUP: group(ESP_IN, UDP_OUT, ESP_OUT, extra_ingress=[all_traffic])})
    guard, alerts, _, _ = make_guard(ec2)

    assert guard.handle(event()) == {"outcome": "intact", "group": GROUP}
    assert ec2.authorized == [] and alerts.published == []


def test_a_gap_seen_on_an_unrelated_call_is_restored_without_naming_its_caller():
    ec2 = FakeEc2({GROUP: group(ESP_IN, UDP_OUT, ESP_OUT)})
    guard, alerts, _, _ = make_guard(ec2)

    result = guard.handle(event("sg-revoke-ingress-unrelated.json"))

    assert result["outcome"] == "restored" and result["rules_added"] == 1
    [alert] = alerts.published
    assert alert.initiated_by is None and alert.initiator_note.startswith("unknown: another call")
    assert "bob" not in alert.text() and "another call removed them" in alert.reason
    assert [label for label, _ in alert.links()] == ["Security group"]  # no CloudTrail event link


def test_restoring_is_off_when_the_deployment_does_not_repair_groups():
    ec2 = FakeEc2({GROUP: group()})
    guard, alerts, logger, _ = make_guard(ec2, repair_security_groups=False)

    assert guard.handle(event())["outcome"] == "repair-disabled"
    assert ec2.authorized == [] and alerts.published == []
    assert any(level == "warning" for level, _, _ in logger.records)


def test_a_rule_back_by_the_time_it_is_added_names_the_caller_as_already_restored():
    """InvalidPermission.Duplicate: somebody added the rule between the describe and the add, or
    this run did and its answer was lost (botocore's retry meets its own rule; found by the
    security-group campaign, tests/reliability/test_side_paths_under_faults.py). The call did
    remove the rule: it is named, as when the rule is found back at the describe."""
    ec2 = FakeEc2({GROUP: group(ESP_IN)}, fail={"AuthorizeIngress": "InvalidPermission.Duplicate"})
    guard, alerts, _, _ = make_guard(ec2)

    assert guard.handle(event())["outcome"] == "already-restored"
    (alert,) = alerts.published
    assert alert.action is AlertAction.SECURITY_GROUPS_RESTORED
    assert alert.initiated_by == "arn:aws:sts::123456789012:assumed-role/NetworkAdmin/bob"


def test_a_rule_back_by_the_time_it_is_added_after_a_call_that_removed_none_is_not_reported():
    gap = group(ESP_IN, UDP_OUT, ESP_OUT)  # UDP 500 in missing; the event revoked an SSH rule
    ec2 = FakeEc2({GROUP: gap}, fail={"AuthorizeIngress": "InvalidPermission.Duplicate"})
    guard, alerts, _, _ = make_guard(ec2)

    result = guard.handle(event("sg-revoke-ingress-unrelated.json"))

    assert result["outcome"] == "intact"
    assert alerts.published == []


def test_a_full_group_is_a_failed_alert_not_a_crash():
    full = {"AuthorizeIngress": "RulesPerSecurityGroupLimitExceeded"}
    ec2 = FakeEc2({GROUP: group()}, fail=full)
    guard, alerts, _, _ = make_guard(ec2)

    result = guard.handle(event())

    assert result["outcome"] == "restore-failed" and len(result["problems"]) == 2
    (alert,) = alerts.published
    assert alert.action is AlertAction.FAILED and alert.severity.value == "CRITICAL"
    assert "RulesPerSecurityGroupLimitExceeded" in alert.text()


@pytest.mark.parametrize("operation", ["DescribeSecurityGroups", "AuthorizeIngress"])
def test_transient_errors_are_raised_for_lambda_to_retry(operation):
    ec2 = FakeEc2({GROUP: group()}, fail={operation: "RequestLimitExceeded"})
    guard, alerts, _, _ = make_guard(ec2)

    with pytest.raises(ClientError):
        guard.handle(event())
    assert alerts.published == []


def test_a_default_vpc_group_is_described_by_name():
    ec2 = FakeEc2({GROUP: {**group(ESP_IN, UDP_OUT, ESP_OUT), "GroupName": "default"}})
    guard, _, _, _ = make_guard(ec2)
    named = event()
    named["detail"]["requestParameters"] = {"groupName": "default", "ipPermissions": {}}

    assert guard.handle(named)["outcome"] == "restored"
    assert ec2.authorized[0][0] == GROUP


@pytest.mark.parametrize(
    ("mutate", "account"),
    [
        (lambda e: e["detail"].update(eventName="DeleteSecurityGroup"), "123456789012"),
        (lambda e: e.update(account="210987654321"), "123456789012"),
        (lambda e: e.update(region="eu-west-1") or e["detail"].update(awsRegion="eu-west-1"), None),
    ],
)
def test_malformed_or_foreign_events_are_dropped_and_counted(mutate, account):
    ec2 = FakeEc2({GROUP: group()})
    guard, alerts, logger, metrics = make_guard(ec2)
    bad = event()
    mutate(bad)

    result = guard.handle(bad, account=account)

    assert result["outcome"] == "malformed"
    assert metrics.counts == {"MalformedEvents": 1}
    assert ec2.authorized == [] and alerts.published == []
    ((level, _, extra),) = logger.records
    assert level == "warning" and extra["reason"]


def test_a_failed_call_is_ignored():
    ec2 = FakeEc2({GROUP: group()})
    guard, _, _, metrics = make_guard(ec2)

    result = guard.handle(event("sg-revoke-ingress-failed-unauthorized.json"))

    assert result["outcome"] == "ignored"
    assert metrics.counts == {"FailedCallEvents": 1}
