"""Parsing EC2 rule-change events: which group, which directions, who; what is refused."""

from __future__ import annotations

import copy
import json

import pytest

from ict_guard.events import FailedCall, MalformedEvent
from ict_guard.rule_changes import RULE_CHANGE_DIRECTIONS, parse_rule_change
from ict_guard.security_groups import Direction
from sandbox.template import EVENTS_DIR

pytestmark = pytest.mark.unit

MANAGED = "sg-0f595941afd7b20fb"
BOB = "arn:aws:sts::123456789012:assumed-role/NetworkAdmin/bob"
TERRAFORM = "arn:aws:sts::123456789012:assumed-role/TerraformApply/terraform-ci"


def load(name: str) -> dict:
    return json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("file_name", "event_name", "group_id", "directions", "changed_by"),
    [
        ("sg-revoke-ingress-ipsec-managed.json", "RevokeSecurityGroupIngress", MANAGED,
         (Direction.INGRESS,), BOB),
        ("sg-revoke-egress-ipsec-managed.json", "RevokeSecurityGroupEgress", MANAGED,
         (Direction.EGRESS,), BOB),
        ("sg-modify-rules-managed.json", "ModifySecurityGroupRules", MANAGED,
         (Direction.INGRESS, Direction.EGRESS), TERRAFORM),
        ("sg-revoke-ingress-unrelated.json", "RevokeSecurityGroupIngress", MANAGED,
         (Direction.INGRESS,), BOB),
        ("sg-revoke-ingress-group-deleted.json", "RevokeSecurityGroupIngress",
         "sg-0a1b2c3d4e5f60718", (Direction.INGRESS,), TERRAFORM),
    ],
)  # fmt: skip
def test_the_event_files_name_group_directions_and_caller(file_name, event_name, group_id, directions, changed_by):
    event = load(file_name)

    change = parse_rule_change(event)

    assert change.event_name == event_name
    assert change.group_id == group_id and change.group_name is None
    assert change.group == group_id
    assert change.directions == directions
    assert change.changed_by == changed_by
    assert change.event_id == event["detail"]["eventID"]
    assert (change.account, change.region) == ("123456789012", "us-east-1")


def test_a_failed_call_changed_nothing():
    with pytest.raises(FailedCall) as raised:
        parse_rule_change(load("sg-revoke-ingress-failed-unauthorized.json"))
    assert raised.value.error_code == "Client.UnauthorizedOperation"


def test_a_default_vpc_group_named_by_its_name():
    event = load("sg-revoke-ingress-ipsec-managed.json")
    request = event["detail"]["requestParameters"]
    del request["groupId"]
    request["groupName"] = "default"

    change = parse_rule_change(event)

    assert (change.group_id, change.group_name, change.group) == (None, "default", "name:default")


def test_an_id_wins_over_a_name():
    event = load("sg-revoke-ingress-ipsec-managed.json")
    event["detail"]["requestParameters"]["groupName"] = "training-nodes"

    assert parse_rule_change(event).group_name is None


def test_a_flat_modify_request_is_read_too():
    # In case CloudTrail ever records ModifySecurityGroupRules in EC2's usual shape.
    event = load("sg-modify-rules-managed.json")
    event["detail"]["requestParameters"] = {"groupId": MANAGED}

    assert parse_rule_change(event).group_id == MANAGED


def test_every_handled_call_has_directions():
    assert set(RULE_CHANGE_DIRECTIONS) == {
        "RevokeSecurityGroupIngress",
        "RevokeSecurityGroupEgress",
        "ModifySecurityGroupRules",
    }
    assert all(RULE_CHANGE_DIRECTIONS.values())


def _broken(mutate):
    event = load("sg-revoke-ingress-ipsec-managed.json")
    mutate(event)
    return event


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda e: e.update(source="aws.sagemaker"), "not an EC2 event"),
        (lambda e: e["detail"].update(eventSource="sagemaker.amazonaws.com"), "not an EC2 event"),
        (lambda e: e["detail"].update(eventName="DeleteSecurityGroup"), "unsupported eventName"),
        (lambda e: e["detail"].update(awsRegion="eu-west-1"), "disagree"),
        (lambda e: e["detail"]["requestParameters"].update(groupId="sg-NOT-HEX"),
         "not a valid group ID"),
        (lambda e: e["detail"]["requestParameters"].update(groupId=["sg-0f595941afd7b20fb"]),
         "not a valid group ID"),
        (lambda e: e["detail"]["requestParameters"].pop("groupId"), "names no security group"),
        (lambda e: e["detail"].update(requestParameters=None), "names no security group"),
        (lambda e: e["detail"].update(requestParameters={"omitted": True}),
         "names no security group"),
        (lambda e: e["detail"]["requestParameters"].update(groupId=None, groupName="x" * 256),
         "names no security group"),
        (lambda e: e["detail"].pop("eventID"), "invalid event"),
        (lambda e: e.pop("detail"), "invalid event"),
    ],
)  # fmt: skip
def test_malformed_events_are_refused_with_a_reason_and_the_event_id(mutate, reason):
    event = _broken(mutate)

    with pytest.raises(MalformedEvent) as raised:
        parse_rule_change(event)

    assert reason in raised.value.reason
    expected_id = (event.get("detail") or {}).get("eventID") or event["id"]
    assert raised.value.event_id == expected_id


@pytest.mark.parametrize("event", [None, "text", [], {"detail": "x"}])
def test_garbage_is_malformed(event):
    with pytest.raises(MalformedEvent):
        parse_rule_change(copy.deepcopy(event))


# -- whether the call's own request removed IPsec coverage -----------------------------------------


@pytest.mark.parametrize(
    ("file_name", "removes_ipsec"),
    [
        ("sg-revoke-ingress-ipsec-managed.json", True),  # the guard's UDP 500 self rule
        ("sg-revoke-egress-ipsec-managed.json", True),  # its outbound ESP rule
        ("sg-revoke-ingress-unrelated.json", False),  # an SSH rule from a CIDR
        ("sg-modify-rules-managed.json", None),  # a modify never says what the rule was
    ],
)
def test_the_event_says_whether_its_request_removed_ipsec_coverage(file_name, removes_ipsec):
    assert parse_rule_change(load(file_name)).removes_ipsec is removes_ipsec


def _revoke(permissions=None, response=None, group=MANAGED):
    event = load("sg-revoke-ingress-ipsec-managed.json")
    request = {"groupId": group}
    if permissions is not None:
        request["ipPermissions"] = {"items": permissions}
    event["detail"]["requestParameters"] = request
    event["detail"]["responseElements"] = {"requestId": "r", "_return": True, **(response or {})}
    return parse_rule_change(event).removes_ipsec


def _self(protocol, low=None, high=None, peer=MANAGED):
    item = {"ipProtocol": protocol, "groups": {"items": [{"groupId": peer}]}, "ipRanges": {}}
    if low is not None:
        item.update(fromPort=low, toPort=high)
    return item


@pytest.mark.parametrize(
    ("permissions", "expected"),
    [
        ([_self("udp", 500, 500)], True),
        ([_self("17", 400, 600)], True),  # a range that includes 500, by protocol number
        ([_self("50", -1, -1)], True),
        ([_self("-1")], True),  # all traffic covered IPsec too
        ([_self("udp", 501, 600)], False),
        ([_self("tcp", 500, 500)], False),
        ([_self("udp", 500, 500, peer="sg-0123456789abcdef0")], False),  # another group: not self
        ([{"ipProtocol": "udp", "fromPort": 500, "toPort": 500, "groups": {},
           "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}], True),  # anywhere covers the group
        ([{"ipProtocol": "udp", "fromPort": 500, "toPort": 500,
           "groups": {"items": [{"groupName": "default"}]}}], None),  # peer by name: cannot tell
        ([_self("tcp", 22, 22), _self("50", -1, -1)], True),
    ],
)  # fmt: skip
def test_revoked_permissions_are_judged_like_coverage_of_the_group_alone(permissions, expected):
    assert _revoke(permissions) is expected


def test_a_revoke_by_rule_id_is_judged_from_the_revoked_rules_in_the_response():
    ids = {"securityGroupRuleId": {"items": [{"securityGroupRuleId": "sgr-0abc"}]}}
    revoked = {"revokedSecurityGroupRuleSet": {"items": [
        {"securityGroupRuleId": "sgr-0abc", "groupId": MANAGED, "isEgress": False,
         "ipProtocol": "udp", "fromPort": 500, "toPort": 500, "referencedGroupId": MANAGED},
    ]}}  # fmt: skip
    ssh = {"revokedSecurityGroupRuleSet": {"items": [
        {"securityGroupRuleId": "sgr-0abd", "ipProtocol": "tcp", "fromPort": 22, "toPort": 22,
         "cidrIpv4": "10.0.0.0/8"},
    ]}}  # fmt: skip
    event = load("sg-revoke-ingress-ipsec-managed.json")
    event["detail"]["requestParameters"] = {"groupId": MANAGED, **ids}
    assert parse_rule_change(event).removes_ipsec is None  # IDs alone say nothing
    assert _revoke(response=revoked) is True
    assert _revoke(response=ssh) is False
