"""The security-group guard end to end on the embedded AWS: a person's EC2 call -> CloudTrail-shaped
event -> the template's rule -> the real handler with Lambda's async retries -> the group's rules
and the alerts.

A group becomes managed the way it does in an account: the job guard repairs it for an encrypted
job and tags it ict-guard:managed=true.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from functions.sg_guard.app import lambda_handler as sg_lambda_handler
from ict_guard.runtime import sg_guard_runtime
from ict_guard.security_groups import IPSEC_NEEDS, Direction, self_referencing_permission
from sandbox.environment import GuardSandbox

pytestmark = pytest.mark.integration

SG_GUARD = "SecurityGroupGuardFunction"
ADMIN = "arn:aws:iam::123456789012:user/network-admin"
UDP_IN, ESP_IN, UDP_OUT, ESP_OUT = IPSEC_NEEDS


@pytest.fixture
def guarded(sandbox: GuardSandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[GuardSandbox]:
    """The sandbox with the security-group guard deployed too, and one group it manages: the
    hardened group, repaired by the job guard for an encrypted job (no IPsec rule before)."""
    for key, value in sandbox.env.function_environment(SG_GUARD).items():
        monkeypatch.setenv(key, value)
    sg_guard_runtime.cache_clear()
    sandbox.sg_function = sandbox.add_function(SG_GUARD, sg_lambda_handler, "ict-guard-sg-guard")
    group_id = sandbox.env.second_group_id
    sandbox.create_training_job(
        "encrypted-job",
        encrypted=True,
        VpcConfig={"SecurityGroupIds": [group_id], "Subnets": sandbox.env.subnet_ids},
    )
    invocations = sandbox.deliver()
    # The job guard's own Authorize calls are no rule removal: the security-group guard never ran.
    assert [i.event["source"] for i in invocations] == ["aws.sagemaker"]
    assert ipsec_rules(sandbox.group(group_id)) == set(IPSEC_NEEDS)
    assert tags(sandbox.group(group_id))["ict-guard:managed"] == "true"
    assert [a["action"] for a in sandbox.alerts()] == ["security_groups_repaired"]
    sandbox.admin = sandbox.iam_user_session("network-admin").client("ec2")
    yield sandbox
    sg_guard_runtime.cache_clear()


def ipsec_rules(group: dict[str, Any]) -> set[Any]:
    """The IPsec needs the group's own self-referencing rules cover."""
    found = set()
    for need in IPSEC_NEEDS:
        key = "IpPermissions" if need.direction is Direction.INGRESS else "IpPermissionsEgress"
        for permission in group.get(key, []):
            ports = (permission.get("FromPort"), permission.get("ToPort"))
            if (
                permission["IpProtocol"] == need.protocol
                and ports == ((need.port, need.port) if need.port else (-1, -1))
                and any(p["GroupId"] == group["GroupId"] for p in permission["UserIdGroupPairs"])
            ):
                found.add(need)
    return found


def tags(group: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in group.get("Tags", [])}


def revoke(sandbox: GuardSandbox, need: Any) -> None:
    """The network admin removes the guard's rule for `need`, naming it by its properties (moto
    needs the rule's description among them; EC2 does not)."""
    group_id = sandbox.env.second_group_id
    permission = self_referencing_permission(group_id, need)
    if need.direction is Direction.INGRESS:
        sandbox.admin.revoke_security_group_ingress(GroupId=group_id, IpPermissions=[permission])
    else:
        sandbox.admin.revoke_security_group_egress(GroupId=group_id, IpPermissions=[permission])


def sg_results(invocations: list[Any]) -> list[dict[str, Any]]:
    assert all(i.succeeded for i in invocations), [i.errors for i in invocations]
    return [i.result for i in invocations if i.event["source"] == "aws.ec2"]


def test_a_revoked_guard_rule_is_restored_and_the_alert_says_who_removed_it(guarded):
    group_id = guarded.env.second_group_id
    revoke(guarded, UDP_IN)
    assert UDP_IN not in ipsec_rules(guarded.group(group_id))

    invocations = guarded.deliver()

    [result] = sg_results(invocations)
    assert result["outcome"] == "restored" and result["rules_added"] == 1
    assert ipsec_rules(guarded.group(group_id)) == set(IPSEC_NEEDS)
    [alert] = guarded.alerts()
    assert alert["action"] == "security_groups_restored"
    assert alert["_attributes"] == {"action": "security_groups_restored", "severity": "MEDIUM"}
    assert alert["resource"] == {
        "type": "security-group",
        "name": group_id,
        "arn": f"arn:aws:ec2:us-east-1:123456789012:security-group/{group_id}",
    }
    assert alert["initiated_by"] == ADMIN
    assert "RevokeSecurityGroupIngress" in alert["reason"] and ADMIN in alert["reason"]
    assert alert["rules_added"] == [
        {"group_id": group_id, "direction": "ingress", "protocol": "udp", "port": 500}
    ]
    assert alert["security_groups"] == [group_id]
    assert alert["event_id"] == invocations[0].event["detail"]["eventID"]
    assert alert["schema_version"] == "1.0"
    assert guarded.dead_letters() == []


def test_an_egress_rule_revoked_by_its_rule_id_is_restored(guarded):
    group_id = guarded.env.second_group_id
    rules = guarded.ec2.describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": [group_id]}]
    )["SecurityGroupRules"]
    esp_out = [r["SecurityGroupRuleId"] for r in rules if r["IsEgress"] and r["IpProtocol"] == "50"]
    guarded.admin.revoke_security_group_egress(GroupId=group_id, SecurityGroupRuleIds=esp_out)

    [result] = sg_results(guarded.deliver())

    assert result["outcome"] == "restored"
    assert ipsec_rules(guarded.group(group_id)) == set(IPSEC_NEEDS)
    [alert] = guarded.alerts()
    assert alert["rules_added"] == [
        {"group_id": group_id, "direction": "egress", "protocol": "50", "port": None}
    ]


def test_a_rule_modified_into_something_else_is_restored(guarded):
    group_id = guarded.env.second_group_id
    rules = guarded.ec2.describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": [group_id]}]
    )["SecurityGroupRules"]
    [esp_in] = [r for r in rules if not r["IsEgress"] and r["IpProtocol"] == "50"]
    guarded.admin.modify_security_group_rules(
        GroupId=group_id,
        SecurityGroupRules=[
            {
                "SecurityGroupRuleId": esp_in["SecurityGroupRuleId"],
                "SecurityGroupRule": {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                                      "CidrIpv4": "10.20.0.0/16"},
            }
        ],
    )  # fmt: skip
    assert ESP_IN not in ipsec_rules(guarded.group(group_id))

    [result] = sg_results(guarded.deliver())

    assert result["outcome"] == "restored" and result["rules_added"] == 1
    assert ipsec_rules(guarded.group(group_id)) == set(IPSEC_NEEDS)
    assert [a["initiated_by"] for a in guarded.alerts()] == [ADMIN]


def test_an_unrelated_revoke_changes_nothing_and_alerts_nobody(guarded):
    group_id = guarded.env.second_group_id
    ssh = {
        "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.20.0.0/16"}]
    }
    guarded.admin.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[ssh])
    before = guarded.group(group_id)
    guarded.admin.revoke_security_group_ingress(GroupId=group_id, IpPermissions=[ssh])

    [result] = sg_results(guarded.deliver())

    assert result == {"outcome": "intact", "group": group_id}
    after = guarded.group(group_id)
    assert after["IpPermissionsEgress"] == before["IpPermissionsEgress"]
    assert ipsec_rules(after) == set(IPSEC_NEEDS)
    assert len(after["IpPermissions"]) == len(before["IpPermissions"]) - 1  # only the SSH rule left
    assert guarded.alerts() == []


def test_a_group_that_no_longer_exists_ends_quietly(guarded):
    group_id = guarded.env.second_group_id
    revoke(guarded, UDP_IN)
    guarded.admin.delete_security_group(GroupId=group_id)  # before the event is handled

    invocations = guarded.deliver()

    [result] = sg_results(invocations)
    assert result == {"outcome": "not-found", "group": group_id}
    assert invocations[0].attempts == 1  # quiet, not retried
    assert guarded.alerts() == [] and guarded.dead_letters() == []


def test_a_group_whose_managed_tag_was_removed_is_released(guarded):
    group_id = guarded.env.second_group_id
    guarded.admin.delete_tags(Resources=[group_id], Tags=[{"Key": "ict-guard:managed"}])
    revoke(guarded, UDP_IN)

    [result] = sg_results(guarded.deliver())

    assert result == {"outcome": "not-managed", "group": group_id}
    assert UDP_IN not in ipsec_rules(guarded.group(group_id))
    assert "ict-guard:managed" not in tags(guarded.group(group_id))
    assert guarded.alerts() == []


def test_a_group_never_managed_is_left_alone(guarded):
    # The bare group carries only its default allow-all egress; nobody tagged it.
    group_id = guarded.env.bare_group_id
    guarded.admin.revoke_security_group_egress(
        GroupId=group_id,
        IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )

    [result] = sg_results(guarded.deliver())

    assert result == {"outcome": "not-managed", "group": group_id}
    assert guarded.group(group_id)["IpPermissionsEgress"] == []
    assert guarded.alerts() == []


def test_a_duplicate_delivery_restores_once_and_alerts_once(guarded):
    group_id = guarded.env.second_group_id
    revoke(guarded, UDP_IN)
    [first] = guarded.deliver()
    assert first.result["outcome"] == "restored"
    # The admin removes the rule again (its own event, still queued) and the first event is
    # delivered a second time meanwhile: the duplicate gets the first outcome, and does nothing.
    revoke(guarded, UDP_IN)

    duplicate = guarded.sg_function.invoke(first.event)

    assert duplicate.result == {**first.result, "duplicate": True}
    assert UDP_IN not in ipsec_rules(guarded.group(group_id))
    [second_event] = sg_results(guarded.deliver())
    assert second_event["outcome"] == "restored"
    alerts = guarded.alerts()
    assert len(alerts) == 2
    assert alerts[0]["event_id"] == first.event["detail"]["eventID"]
    assert alerts[1]["event_id"] != first.event["detail"]["eventID"]
    assert ipsec_rules(guarded.group(group_id)) == set(IPSEC_NEEDS)


def test_a_throttled_describe_is_retried_by_lambda_and_restores_once(guarded, inject):
    group_id = guarded.env.second_group_id
    state = inject(sg_guard_runtime().clients.ec2, "DescribeSecurityGroups", "RequestLimitExceeded")
    revoke(guarded, ESP_OUT)

    [invocation] = guarded.deliver()

    assert state["seen"] == 2 and invocation.attempts == 2
    assert invocation.result["outcome"] == "restored"
    assert ipsec_rules(guarded.group(group_id)) == set(IPSEC_NEEDS)
    assert [a["action"] for a in guarded.alerts()] == ["security_groups_restored"]
    assert guarded.dead_letters() == []


# -- two callers: who is named ----------------------------------------------------------------------

SSH = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.20.0.0/16"}]}
ALICE = "arn:aws:iam::123456789012:user/alice"


def two_callers_revoke(guarded: GuardSandbox) -> Any:
    """The network admin revokes an SSH rule, then alice the guard's UDP 500 rule, before either
    event is handled: the SSH revoke's event already sees alice's gap."""
    group_id = guarded.env.second_group_id
    guarded.admin.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[SSH])
    alice = guarded.iam_user_session("alice").client("ec2")
    guarded.admin.revoke_security_group_ingress(GroupId=group_id, IpPermissions=[SSH])
    alice.revoke_security_group_ingress(
        GroupId=group_id, IpPermissions=[self_referencing_permission(group_id, UDP_IN)]
    )
    return alice



def test_a_restore_names_the_caller_whose_request_removed_the_rule_not_the_first_event(guarded):
    group_id = guarded.env.second_group_id
    two_callers_revoke(guarded)

    invocations = guarded.deliver()

    ssh_event, udp_event = (i.event["detail"] for i in invocations)
    assert [e["userIdentity"]["arn"] for e in (ssh_event, udp_event)] == [ADMIN, ALICE]
    results = sg_results(invocations)
    # The SSH revoke's event sees the gap first and restores it (see sg_guard's docstring)...
    assert results[0]["outcome"] == "restored" and results[0]["rules_added"] == 1
    # ...and alice's own event finds the group intact, and names her.
    assert results[1]["outcome"] == "already-restored"
    assert ipsec_rules(guarded.group(group_id)) == set(IPSEC_NEEDS)

    restored, attributed = guarded.alerts()
    assert restored["event_id"] == ssh_event["eventID"]
    assert restored["initiated_by"] is None  # not the admin: his request removed no IPsec rule
    assert ADMIN not in restored["reason"] and "another call" in restored["reason"]
    assert restored["rules_added"] == [
        {"group_id": group_id, "direction": "ingress", "protocol": "udp", "port": 500}
    ]
    assert attributed["event_id"] == udp_event["eventID"]
    assert attributed["initiated_by"] == ALICE
    assert ALICE in attributed["reason"] and "RevokeSecurityGroupIngress" in attributed["reason"]
    assert guarded.dead_letters() == []


def test_the_email_of_a_restore_for_another_call_names_nobody_and_links_no_event(guarded):
    two_callers_revoke(guarded)
    invocations = guarded.deliver()
    ssh_event_id = invocations[0].event["detail"]["eventID"]

    texts = [m["Message"] for m in guarded_alert_texts(guarded)]

    assert "Changed by:  unknown: another call" in texts[0]
    assert ssh_event_id not in texts[0].split("Links:")[1].split("Account")[0]
    assert "network-admin" not in texts[0]
    assert "Changed by:  alice (IAM user" in texts[1]
    assert f"#/events/{invocations[1].event['detail']['eventID']}" in texts[1]


def guarded_alert_texts(guarded: GuardSandbox) -> list[dict[str, Any]]:
    """The alerts' e-mail texts, rebuilt from their JSON documents the way SNS would send them."""
    from ict_guard.alerts import Alert, AlertAction

    texts = []
    for doc in guarded.alerts():
        alert = Alert(
            action=AlertAction(doc["action"]), resource_type=doc["resource"]["type"],
            name=doc["resource"]["name"], arn=doc["resource"]["arn"], account=doc["account"],
            region=doc["region"], event_id=doc["event_id"], reason=doc["reason"], mode=doc["mode"],
            initiated_by=doc["initiated_by"], initiator_note=doc["initiator_note"],
            rules_added=doc["rules_added"], security_groups=doc["security_groups"],
        )  # fmt: skip
        texts.append({"Message": alert.text()})
    return texts


def test_when_the_removing_call_s_event_is_lost_the_other_event_still_restores(guarded):
    group_id = guarded.env.second_group_id
    two_callers_revoke(guarded)
    queue = guarded.env.target_queue_urls[SG_GUARD]
    messages = guarded.sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    events = [json.loads(m["Body"]) for m in messages]
    for message in messages:
        guarded.sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    [ssh_event] = [e for e in events if e["detail"]["userIdentity"]["arn"] == ADMIN]  # alice's: lost

    invocation = guarded.sg_function.invoke(ssh_event)

    assert invocation.result["outcome"] == "restored"
    assert ipsec_rules(guarded.group(group_id)) == set(IPSEC_NEEDS)
    [alert] = guarded.alerts()
    assert alert["initiated_by"] is None and "another call" in alert["reason"]


def test_the_removing_call_handled_first_is_named_and_the_other_event_changes_nothing(guarded):
    group_id = guarded.env.second_group_id
    two_callers_revoke(guarded)
    queue = guarded.env.target_queue_urls[SG_GUARD]
    messages = guarded.sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    for message in messages:
        guarded.sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    events = sorted(
        (json.loads(m["Body"]) for m in messages),
        key=lambda e: e["detail"]["userIdentity"]["arn"] != ALICE,  # alice's event first
    )

    first, second = (guarded.sg_function.invoke(e) for e in events)

    assert first.result["outcome"] == "restored" and second.result["outcome"] == "intact"
    assert ipsec_rules(guarded.group(group_id)) == set(IPSEC_NEEDS)
    [alert] = guarded.alerts()
    assert alert["initiated_by"] == ALICE and alert["event_id"] == events[0]["detail"]["eventID"]
