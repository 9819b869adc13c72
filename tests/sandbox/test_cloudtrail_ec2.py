"""EC2 calls become events in CloudTrail's own EC2 shapes, which the security-group guard reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ict_guard.rule_changes import parse_rule_change
from ict_guard.security_groups import Direction
from sandbox import cloudtrail
from sandbox.cloudtrail import api_call_event, user_identity
from sandbox.template import EVENTS_DIR

pytestmark = pytest.mark.sandbox

ACCOUNT = "123456789012"
CALLER = user_identity(
    arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/NetworkAdmin/bob",
    principal_id="AROAEXAMPLEROLEID0002:bob",
    access_key_id="ASIAEXAMPLEKEY000002",
    account=ACCOUNT,
)
GROUP = "sg-0f595941afd7b20fb"
RULE_CHANGES = {"source": ["aws.ec2"], "detail": {"eventSource": ["ec2.amazonaws.com"]}}


def _event(operation: str, request: dict[str, Any], response: dict[str, Any] | None = None, **kw):
    return api_call_event(
        service_model=cloudtrail.service_model("ec2"),
        operation_name=operation,
        request_params=request,
        response=response if response is not None else {"Return": True},
        account=ACCOUNT,
        region="us-east-1",
        caller=CALLER,
        event_time=datetime(2025, 11, 21, 9, 14, 7, tzinfo=UTC),
        request_id="6a2f3b5e-81a4-4e55-9d6f-0c6a8a3b7d21",
        **kw,
    )


def _recorded_file(name: str) -> dict[str, Any]:
    return json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))["detail"]


def test_a_revoke_is_written_in_ec2s_shape_like_the_recorded_events() -> None:
    permission = {
        "IpProtocol": "udp",
        "FromPort": 500,
        "ToPort": 500,
        "UserIdGroupPairs": [
            {"GroupId": GROUP, "Description": "sagemaker-ict-guard: encrypted inter-container"}
        ],
    }

    request = {"GroupId": GROUP, "IpPermissions": [permission]}

    detail = _event("RevokeSecurityGroupIngress", request)["detail"]

    recorded = _recorded_file("sg-revoke-ingress-ipsec-managed.json")
    assert detail["requestParameters"] == recorded["requestParameters"]
    assert detail["responseElements"] == {
        "requestId": "6a2f3b5e-81a4-4e55-9d6f-0c6a8a3b7d21",
        "_return": True,
    }
    assert set(detail["responseElements"]) == set(recorded["responseElements"])


def test_modify_security_group_rules_is_written_wrapped_like_the_recorded_event() -> None:
    request = {
        "GroupId": GROUP,
        "SecurityGroupRules": [
            {
                "SecurityGroupRuleId": "sgr-0b7a1c2d3e4f56789",
                "SecurityGroupRule": {
                    "IpProtocol": "tcp",
                    "FromPort": 443,
                    "ToPort": 443,
                    "ReferencedGroupId": GROUP,
                    "Description": "https between nodes",
                },
            }
        ],
    }

    detail = _event("ModifySecurityGroupRules", request)["detail"]

    recorded = _recorded_file("sg-modify-rules-managed.json")
    assert detail["requestParameters"] == recorded["requestParameters"]
    response = detail["responseElements"]["ModifySecurityGroupRulesResponse"]
    assert response == {
        "xmlns": "http://ec2.amazonaws.com/doc/2016-11-15/",
        "requestId": "6a2f3b5e-81a4-4e55-9d6f-0c6a8a3b7d21",
        "return": True,
    }


def test_a_failed_ec2_call_has_no_response() -> None:
    detail = _event(
        "RevokeSecurityGroupEgress",
        {"GroupId": GROUP, "IpPermissions": [{"IpProtocol": "50", "FromPort": -1, "ToPort": -1}]},
        error_code="InvalidGroup.NotFound",
        error_message="The security group does not exist",
    )["detail"]

    assert detail["errorCode"] == "InvalidGroup.NotFound"
    assert detail["responseElements"] is None
    item = detail["requestParameters"]["ipPermissions"]["items"][0]
    assert item["groups"] == item["ipRanges"] == item["ipv6Ranges"] == item["prefixListIds"] == {}


def test_moto_emits_rule_changes_the_guard_can_parse(
    aws: None, client: Any, event_tap: Any, region: str
) -> None:
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    group = ec2.create_security_group(GroupName="nodes", Description="n", VpcId=vpc)["GroupId"]
    self_udp = {
        "IpProtocol": "udp",
        "FromPort": 500,
        "ToPort": 500,
        "UserIdGroupPairs": [{"GroupId": group, "Description": "d"}],
    }
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[self_udp])
    received = event_tap(RULE_CHANGES)

    ec2.revoke_security_group_ingress(GroupId=group, IpPermissions=[self_udp])
    (egress,) = ec2.describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": [group]}]
    )["SecurityGroupRules"]
    ec2.modify_security_group_rules(
        GroupId=group,
        SecurityGroupRules=[
            {
                "SecurityGroupRuleId": egress["SecurityGroupRuleId"],
                "SecurityGroupRule": {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                                      "CidrIpv4": "0.0.0.0/0"},
            }
        ],
    )  # fmt: skip
    ec2.revoke_security_group_egress(
        GroupId=group, SecurityGroupRuleIds=[egress["SecurityGroupRuleId"]]
    )
    with pytest.raises(ClientError):
        ec2.revoke_security_group_ingress(GroupId="sg-0123456789abcdef0", IpPermissions=[self_udp])
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[self_udp])  # not emitted

    events = received()

    assert [e["detail"]["eventName"] for e in events] == [
        "RevokeSecurityGroupIngress",
        "ModifySecurityGroupRules",
        "RevokeSecurityGroupEgress",
        "RevokeSecurityGroupIngress",
    ]
    changes = [parse_rule_change(e) for e in events[:3]]
    assert [c.group_id for c in changes] == [group] * 3
    assert [c.directions for c in changes] == [
        (Direction.INGRESS,),
        (Direction.INGRESS, Direction.EGRESS),
        (Direction.EGRESS,),
    ]
    assert all(c.region == region for c in changes)
    assert events[0]["detail"]["requestParameters"]["ipPermissions"]["items"][0]["groups"] == {
        "items": [{"groupId": group, "description": "d"}]
    }
    assert events[3]["detail"]["errorCode"] == "InvalidGroup.NotFound"
