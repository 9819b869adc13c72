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
def test_the_event_files_name_group_directions_and_caller(
    file_name, event_name, group_id, directions, changed_by
):
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
