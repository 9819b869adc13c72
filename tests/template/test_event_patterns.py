"""Every file in events/ goes through the template's own EventBridge rules (moto's EventBridge)
and must reach exactly the functions events/manifest.json names.

moto's pattern matcher flattens nested objects into dotted leaf paths, the way EventBridge does,
so `exists` on an object node misbehaves here exactly as it does in AWS (checked below); `$or`
and `[false, {"exists": false}]` behave as documented for EventBridge.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
import botocore.session
import pytest
from moto import mock_aws

from sandbox.template import EVENTS_DIR, event_rules, install_rules

pytestmark = pytest.mark.template

REGION = "us-east-1"
EVENT_FILES = sorted(p.name for p in EVENTS_DIR.glob("*.json") if p.name != "manifest.json")
# SageMaker's own state-change events (not CloudTrail records): checked by their own shape test.
STATE_CHANGE_FILES = [f for f in EVENT_FILES if f.startswith("tuning-state-change-")]
CLOUDTRAIL_FILES = [f for f in EVENT_FILES if f not in STATE_CHANGE_FILES]
ENVELOPE_KEYS = {
    "version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail",
}  # fmt: skip
CLOUDTRAIL_KEYS = {
    "eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion",
    "sourceIPAddress", "userAgent", "requestParameters", "responseElements", "requestID",
    "eventID", "readOnly", "eventType", "managementEvent", "recipientAccountId", "eventCategory",
}  # fmt: skip
# Maps whose keys the caller chooses: CloudTrail keeps them as written.
USER_KEYED_MAPS = {"hyperParameters", "environment", "staticHyperParameters"}
# Newer EC2 calls are recorded as their query string wrapped in "<Operation>Request", with the
# API's own (upper-camel) names; everything else in requestParameters is lower camel.
EC2_WRAPPED_REQUESTS = {"ModifySecurityGroupRules"}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def load_event(file_name: str) -> dict[str, Any]:
    return json.loads((EVENTS_DIR / file_name).read_text(encoding="utf-8"))


@dataclass
class Bus:
    """The default event bus with the template's rules, an SQS queue standing in per function."""

    events: Any
    sqs: Any
    queue_url_by_function: dict[str, str]

    def deliver(self, event: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
        answer = self.events.put_events(
            Entries=[
                {
                    "Source": event["source"],
                    "DetailType": event["detail-type"],
                    "Detail": json.dumps(event["detail"]),
                    "Time": datetime.fromisoformat(event["time"].replace("Z", "+00:00")),
                    "Resources": event["resources"],
                }
            ]
        )
        assert answer["FailedEntryCount"] == 0, answer["Entries"]
        received: dict[str, list[dict[str, Any]]] = {}
        for function, url in self.queue_url_by_function.items():
            messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            received[function] = [json.loads(m["Body"]) for m in messages]
        return received


@contextmanager
def bus_with_rules(template: dict[str, Any]) -> Iterator[Bus]:
    with mock_aws():
        events = boto3.client("events", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        urls: dict[str, str] = {}
        arns: dict[str, str] = {}
        for function in sorted({rule.function_logical_id for rule in event_rules(template)}):
            urls[function] = sqs.create_queue(QueueName=f"stand-in-{function}")["QueueUrl"]
            arns[function] = sqs.get_queue_attributes(
                QueueUrl=urls[function], AttributeNames=["QueueArn"]
            )["Attributes"]["QueueArn"]
        install_rules(events, template, arns)
        yield Bus(events, sqs, urls)


@pytest.fixture
def bus(template: dict[str, Any]) -> Iterator[Bus]:
    with bus_with_rules(template) as installed:
        yield installed


# -- the manifest ------------------------------------------------------------------------------


@pytest.mark.parametrize("file_name", EVENT_FILES)
def test_event_reaches_exactly_the_functions_in_the_manifest(
    file_name: str, manifest: dict[str, Any], bus: Bus
) -> None:
    assert file_name in manifest, f"events/{file_name} has no entry in events/manifest.json"
    expected = set(manifest[file_name]["invokes"])
    event = load_event(file_name)

    received = bus.deliver(event)

    invoked = {function for function, delivered in received.items() if delivered}
    assert invoked == expected, f"{file_name}: {manifest[file_name]['why']}"
    for function in expected:
        assert len(received[function]) == 1
        assert received[function][0]["detail"] == event["detail"]


def test_manifest_names_existing_files_and_functions(
    template: dict[str, Any], manifest: dict[str, Any]
) -> None:
    functions_with_rules = {rule.function_logical_id for rule in event_rules(template)}
    assert sorted(manifest) == EVENT_FILES
    for file_name, entry in manifest.items():
        assert set(entry) == {"invokes", "why"}, file_name
        assert set(entry["invokes"]) <= functions_with_rules, file_name
        assert entry["why"].strip(), file_name
    outcomes = {bool(entry["invokes"]) for entry in manifest.values()}
    assert outcomes == {True, False}, "events/ must show both events that invoke and that do not"


# -- the event files are real-shaped --------------------------------------------------------------


def _keys_outside_user_maps(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield path, key
            if key not in USER_KEYED_MAPS:
                yield from _keys_outside_user_maps(value, f"{path}.{key}")
    elif isinstance(node, list):
        for item in node:
            yield from _keys_outside_user_maps(item, f"{path}[]")


@pytest.mark.parametrize("file_name", STATE_CHANGE_FILES)
def test_state_change_file_is_shaped_like_sagemakers_event(file_name: str) -> None:
    event = load_event(file_name)
    assert set(event) == ENVELOPE_KEYS
    assert event["source"] == "aws.sagemaker"
    assert event["detail-type"] == "SageMaker HyperParameter Tuning Job State Change"
    assert event["resources"] == [event["detail"]["HyperParameterTuningJobArn"]]
    assert isinstance(event["detail"]["Tags"], dict)  # a map here, unlike CloudTrail's list
    assert isinstance(event["detail"]["CreationTime"], int)  # epoch milliseconds
    assert UUID.match(event["id"])


@pytest.mark.parametrize("file_name", CLOUDTRAIL_FILES)
def test_event_file_is_shaped_like_an_eventbridge_cloudtrail_event(file_name: str) -> None:
    event = load_event(file_name)
    detail = event["detail"]

    assert set(event) == ENVELOPE_KEYS
    assert event["detail-type"] == "AWS API Call via CloudTrail"
    assert event["source"] in ("aws.sagemaker", "aws.ec2")
    assert event["account"] == detail["recipientAccountId"] == "123456789012"
    assert event["region"] == detail["awsRegion"] == REGION
    assert set(detail) - {"errorCode", "errorMessage", "tlsDetails"} == CLOUDTRAIL_KEYS
    assert detail["eventSource"] == f"{event['source'].removeprefix('aws.')}.amazonaws.com"
    assert detail["eventType"] == "AwsApiCall" and detail["managementEvent"] is True
    assert detail["userIdentity"]["type"] == "AssumedRole"
    assert "sessionIssuer" in detail["userIdentity"]["sessionContext"]
    for value in (event["id"], detail["eventID"], detail["requestID"]):
        assert UUID.match(value), value
    if "errorCode" in detail:
        assert detail["responseElements"] is None, "a failed call has no response"
    else:
        # A Create call returns the new ARN; EC2 always writes requestId and the result.
        assert detail["responseElements"], "a successful call has responseElements"
    request = detail["requestParameters"]
    if detail["eventName"] in EC2_WRAPPED_REQUESTS:
        assert list(request) == [f"{detail['eventName']}Request"]
        assert list(detail["responseElements"] or {}) in ([], [f"{detail['eventName']}Response"])
        return
    # CloudTrail writes request parameters in lower camel case.
    for path, key in _keys_outside_user_maps(request):
        assert key[0].islower(), f"requestParameters{path}.{key}"
    if event["source"] == "aws.ec2":
        # EC2's own shape: lists are {"items": [...]}, empty ones {}.
        for permission in request.get("ipPermissions", {}).get("items", []):
            for peers in ("groups", "ipRanges", "ipv6Ranges", "prefixListIds"):
                assert set(permission[peers]) <= {"items"}, f"ipPermissions.{peers}"


def test_event_ids_are_unique() -> None:
    assert len({load_event(name)["id"] for name in EVENT_FILES}) == len(EVENT_FILES)
    events = [load_event(name) for name in CLOUDTRAIL_FILES]
    for field in (
        lambda e: e["id"],
        lambda e: e["detail"]["eventID"],
        lambda e: e["detail"]["requestID"],
    ):
        values = [field(e) for e in events]
        assert len(values) == len(set(values))


# -- exists on leaf nodes only ------------------------------------------------------------------


def _exists_paths(pattern: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Paths (keys from the event root) at which the pattern uses an `exists` filter."""
    if isinstance(pattern, dict):
        for key, value in pattern.items():
            if key == "$or":
                for branch in value:
                    yield from _exists_paths(branch, path)
            elif isinstance(value, list):
                if any(isinstance(f, dict) and "exists" in f for f in value):
                    yield (*path, key)
            else:
                yield from _exists_paths(value, (*path, key))


def _input_shape_at(operation: str, keys: tuple[str, ...]) -> Any:
    """The botocore input shape of a lower-camel requestParameters path of a SageMaker call."""
    shape = (
        botocore.session.get_session()
        .get_service_model("sagemaker")
        .operation_model(operation)
        .input_shape
    )
    for key in keys:
        while shape.type_name == "list":
            shape = shape.member
        members = {name.lower(): member for name, member in shape.members.items()}
        assert key.lower() in members, f"{operation} has no input member {key}"
        shape = members[key.lower()]
    return shape


def _value_at(node: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def test_exists_is_only_used_on_leaf_nodes(template: dict[str, Any]) -> None:
    """EventBridge's `exists` only works on leaves: on an object node, `{"exists": false}` also
    matches when the object is there. Checked against the SageMaker API model for request
    parameters, and against every event file for the rest of the event."""
    checked = 0
    for rule in event_rules(template):
        operations = rule.pattern.get("detail", {}).get("eventName", [])
        for path in _exists_paths(rule.pattern):
            checked += 1
            if path[:2] == ("detail", "requestParameters"):
                for operation in operations:
                    shape = _input_shape_at(operation, path[2:])
                    element = shape.member if shape.type_name == "list" else shape
                    assert element.type_name not in {"structure", "map", "list"}, (
                        f"{rule.rule_name}: exists on {'.'.join(path)}, a {shape.type_name} "
                        f"in {operation}"
                    )
            for file_name in EVENT_FILES:
                value = _value_at(load_event(file_name), path)
                assert not isinstance(value, dict), f"{'.'.join(path)} is an object in {file_name}"
    assert checked, "the template's patterns use no exists filter at all"


def test_moto_treats_exists_on_an_object_node_like_eventbridge() -> None:
    """The trap EventBridge documents, reproduced by the embedded EventBridge: otherwise the
    manifest test above could pass with a pattern that fails in AWS."""
    event = {
        "Source": "aws.sagemaker",
        "DetailType": "AWS API Call via CloudTrail",
        "Detail": json.dumps({"requestParameters": {"vpcConfig": {"securityGroupIds": ["sg-1"]}}}),
    }

    def on_request(node: dict[str, Any]) -> dict[str, Any]:
        return {"detail": {"requestParameters": node}}

    patterns = {
        "object-absent": on_request({"vpcConfig": [{"exists": False}]}),
        "object-present": on_request({"vpcConfig": [{"exists": True}]}),
        "leaf-absent": on_request({"vpcConfig": {"securityGroupIds": [{"exists": False}]}}),
        "leaf-present": on_request({"vpcConfig": {"securityGroupIds": [{"exists": True}]}}),
    }
    with mock_aws():
        events = boto3.client("events", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        urls = {}
        for name, pattern in patterns.items():
            urls[name] = sqs.create_queue(QueueName=name)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=urls[name], AttributeNames=["QueueArn"])
            events.put_rule(Name=name, EventPattern=json.dumps(pattern))
            events.put_targets(
                Rule=name, Targets=[{"Id": "q", "Arn": arn["Attributes"]["QueueArn"]}]
            )
        events.put_events(Entries=[event])
        matched = {
            n for n, url in urls.items() if sqs.receive_message(QueueUrl=url).get("Messages")
        }
    # As in EventBridge: the object counts as "absent", the leaf is judged correctly.
    assert matched == {"object-absent", "leaf-present"}


def _lift_exists_to_object(pattern: Any, leaf: str) -> bool:
    """Put `[{"exists": true}]` in place of the object that holds `leaf` (the documented trap)."""
    if isinstance(pattern, dict):
        for key, value in pattern.items():
            if isinstance(value, dict) and leaf in value:
                pattern[key] = [{"exists": True}]
                return True
            branches = value if key == "$or" else [value]
            if any(_lift_exists_to_object(b, leaf) for b in branches):
                return True
    return False


def test_exists_on_the_vpc_config_object_would_miss_encrypted_vpc_jobs(
    template: dict[str, Any],
) -> None:
    """The mistake the leaf rule prevents, shown on the real pattern: test vpcConfig instead of
    vpcConfig.securityGroupIds and encrypted VPC jobs no longer get their groups checked."""
    broken = copy.deepcopy(template)
    lifted = [
        _lift_exists_to_object(event["Properties"]["Pattern"], "securityGroupIds")
        for resource in broken["Resources"].values()
        for event in (resource.get("Properties", {}).get("Events") or {}).values()
        if event.get("Type") == "EventBridgeRule"
    ]
    assert any(lifted), "no rule tests vpcConfig.securityGroupIds any more"

    with bus_with_rules(broken) as bus:
        received = bus.deliver(load_event("training-encrypted-vpc.json"))
    assert not any(received.values())


# -- the kinds of job the job guard hears of --------------------------------------------------------

# The Create calls of the four kinds of job (AutoML in both API versions), and the two calls that
# set a monitoring schedule's job (one rule: the same MonitoringScheduleConfig). The four
# Create*JobDefinition take the flag too but run nothing: a definition is judged when a schedule
# names it.
JOB_GUARD_EVENTS = {
    "CreateTrainingJob",
    "CreateHyperParameterTuningJob",
    "CreateProcessingJob",
    "CreateAutoMLJob",
    "CreateAutoMLJobV2",
    "CreateMonitoringSchedule",
    "UpdateMonitoringSchedule",
    # a definition created again under its name: the schedules that run it are judged again
    "CreateDataQualityJobDefinition",
    "CreateModelQualityJobDefinition",
    "CreateModelBiasJobDefinition",
    "CreateModelExplainabilityJobDefinition",
}


def _cloudtrail_rules_of(template: dict[str, Any], function: str) -> list[Any]:
    return [
        rule
        for rule in event_rules(template)
        if rule.function_logical_id == function
        and rule.pattern["detail-type"] == ["AWS API Call via CloudTrail"]
    ]


def test_the_job_guard_hears_exactly_the_create_calls_of_the_four_kinds_and_the_schedules(
    template: dict[str, Any],
) -> None:
    rules = _cloudtrail_rules_of(template, "JobGuardFunction")
    names = [name for rule in rules for name in rule.pattern["detail"]["eventName"]]
    assert sorted(names) == sorted(JOB_GUARD_EVENTS), "each call in exactly one rule"


@pytest.mark.parametrize("event_name", sorted(JOB_GUARD_EVENTS))
def test_every_create_call_has_sample_events_both_ways(
    event_name: str, manifest: dict[str, Any]
) -> None:
    """Each call has a sample that invokes the job guard and one the pattern filters out, so the
    manifest test above runs every rule in both directions."""
    outcomes = {
        bool(manifest[name]["invokes"])
        for name in CLOUDTRAIL_FILES
        if load_event(name)["detail"]["eventName"] == event_name
        and "errorCode" not in load_event(name)["detail"]
    }
    assert outcomes == {True, False}, event_name


def _request_paths(pattern: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every key path under requestParameters that a pattern tests (its leaves)."""
    if isinstance(pattern, dict):
        for key, value in pattern.items():
            if key == "$or":
                for branch in value:
                    yield from _request_paths(branch, path)
            elif isinstance(value, list):
                yield (*path, key)
            else:
                yield from _request_paths(value, (*path, key))


def test_request_paths_are_the_api_members_in_cloudtrails_lower_camel_case(
    template: dict[str, Any],
) -> None:
    """CloudTrail writes requestParameters with the API member names, first letter lowered
    (`autoMLJobConfig`, `networkConfig`): a path spelt any other way never matches, and a
    pattern that tests `flag: [false, {"exists": false}]` would then invoke on every event."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    checked: dict[str, int] = {}
    for rule in _cloudtrail_rules_of(template, "JobGuardFunction"):
        # A rule may hear several calls (the schedule's Create and Update): each must have the path.
        for operation in rule.pattern["detail"]["eventName"]:
            for path in _request_paths(rule.pattern["detail"]):
                if path[0] != "requestParameters":
                    continue
                shape = model.operation_model(operation).input_shape
                for key in path[1:]:
                    while shape.type_name == "list":
                        shape = shape.member
                    members = {name[0].lower() + name[1:]: m for name, m in shape.members.items()}
                    assert key in members, f"{operation}: {'.'.join(path)} ({key} is not a member)"
                    shape = members[key]
                checked[operation] = checked.get(operation, 0) + 1
    assert set(checked) == JOB_GUARD_EVENTS  # every call's rule tests the request, spelt right


# -- monitoring schedules ----------------------------------------------------------------------------

SCHEDULE_CALLS = ["CreateMonitoringSchedule", "UpdateMonitoringSchedule"]
_INLINE_NETWORK = ("requestParameters", "monitoringScheduleConfig", "monitoringJobDefinition", "networkConfig")


def test_one_rule_hears_both_schedule_calls_on_the_inline_definitions_network_config(
    template: dict[str, Any],
) -> None:
    """Create and Update take the same MonitoringScheduleConfig: one rule, the flag false or absent
    (absent also when the schedule names a job definition) or a security group present."""
    (rule,) = [
        r
        for r in _cloudtrail_rules_of(template, "JobGuardFunction")
        if set(r.pattern["detail"]["eventName"]) & set(SCHEDULE_CALLS)
    ]
    assert rule.event_name == "MonitoringSchedule"
    assert rule.pattern["detail"]["eventName"] == SCHEDULE_CALLS
    assert rule.pattern["detail"]["errorCode"] == [{"exists": False}]
    branches = {path: leaf for branch in rule.pattern["detail"]["$or"] for path, leaf in _leaves(branch)}
    assert branches == {
        (*_INLINE_NETWORK, "enableInterContainerTrafficEncryption"): [False, {"exists": False}],
        (*_INLINE_NETWORK, "vpcConfig", "securityGroupIds"): [{"exists": True}],
    }


def _leaves(pattern: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    for key, value in pattern.items():
        if isinstance(value, dict):
            yield from _leaves(value, (*path, key))
        else:
            yield (*path, key), value


def test_a_schedule_that_names_a_job_definition_reaches_the_guard(manifest: dict[str, Any]) -> None:
    """Such a request carries no flag (it is in the definition): every sample of one invokes."""
    named = [
        name
        for name in CLOUDTRAIL_FILES
        if _value_at(load_event(name)["detail"], ("requestParameters", "monitoringScheduleConfig"))
        and "monitoringJobDefinitionName" in load_event(name)["detail"]["requestParameters"]["monitoringScheduleConfig"]
    ]
    assert {load_event(n)["detail"]["eventName"] for n in named} == set(SCHEDULE_CALLS)
    for name in named:
        assert manifest[name]["invokes"] == ["JobGuardFunction"], name
