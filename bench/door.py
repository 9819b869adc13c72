"""Figure 5: filtered at the door. Every event of the events/ corpus goes through template.yaml's
own EventBridge rules on moto's EventBridge (as tests/template does), and the share the patterns
drop before any function is invoked is counted, by class of event."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3

from bench.account import REGION

COMPLIANT_NO_VPC = "compliant job, no VPC"
NEEDS_A_LOOK = "job that may need the guard"
FAILED_CALL = "failed API call"
OTHER_CALL = "other API call"
RULE_CHANGE = "security-group rule change (EC2)"
OMITTED = "requestParameters omitted"


@dataclass
class DoorEvent:
    file: str
    kind: str
    invoked: list[str]
    expected: list[str] | None  # from events/manifest.json

    @property
    def dropped(self) -> bool:
        return not self.invoked


@dataclass
class DoorResult:
    events: list[DoorEvent] = field(default_factory=list)

    def share_dropped(self, kind: str | None = None) -> tuple[int, int]:
        chosen = [e for e in self.events if kind is None or e.kind == kind]
        return sum(e.dropped for e in chosen), len(chosen)

    @property
    def kinds(self) -> list[str]:
        return sorted({e.kind for e in self.events})

    @property
    def manifest_mismatches(self) -> list[str]:
        return [
            e.file
            for e in self.events
            if e.expected is not None and sorted(e.expected) != sorted(e.invoked)
        ]


def classify(event: dict[str, Any]) -> str:
    """What the event is, from the event alone: compliant jobs without a VPC need nothing."""
    detail = event.get("detail") or {}
    if detail.get("errorCode"):
        return FAILED_CALL
    name = str(detail.get("eventName", ""))
    if detail.get("eventSource") == "ec2.amazonaws.com" and "SecurityGroup" in name:
        return RULE_CHANGE
    if not (name.startswith("Create") and name.endswith("Job")):
        return OTHER_CALL
    request = detail.get("requestParameters")
    if not isinstance(request, dict) or request.get("omitted"):
        return OMITTED
    flags = list(_values(request, "enableInterContainerTrafficEncryption"))
    groups = [g for g in _values(request, "securityGroupIds") if g]
    if flags and all(flag is True for flag in flags) and not groups:
        return COMPLIANT_NO_VPC
    return NEEDS_A_LOOK


def _values(document: Any, key: str) -> Any:
    if isinstance(document, dict):
        for k, v in document.items():
            if k == key:
                yield v
            else:
                yield from _values(v, key)
    elif isinstance(document, list):
        for item in document:
            yield from _values(item, key)


def measure_door() -> DoorResult:
    from moto import mock_aws

    from bench.account import template as load_template
    from sandbox.template import EVENTS_DIR, event_rules, install_rules

    template = load_template()
    manifest_path = EVENTS_DIR / "manifest.json"
    manifest = (
        json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else {}
    )
    files = sorted(p for p in EVENTS_DIR.glob("*.json") if p.name != "manifest.json")
    result = DoorResult()
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        events, sqs = session.client("events"), session.client("sqs")
        queues = {}
        for rule in event_rules(template):
            function = rule.function_logical_id
            if function not in queues:
                queues[function] = sqs.create_queue(QueueName=f"door-{function}")["QueueUrl"]
        arns = {
            fn: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            for fn, url in queues.items()
        }
        install_rules(events, template, arns)
        for path in files:
            relative = str(path.relative_to(EVENTS_DIR))
            try:
                event = json.loads(path.read_text(encoding="utf-8"))
            except ValueError:
                continue  # not an event (the invalid-input corpus may hold non-JSON on purpose)
            if not isinstance(event, dict) or not {"source", "detail-type", "detail"} <= set(event):
                continue
            invoked = _deliver(events, sqs, queues, event)
            expected = (manifest.get(relative) or {}).get("invokes")
            result.events.append(DoorEvent(relative, classify(event), invoked, expected))
    return result


def _deliver(events: Any, sqs: Any, queues: dict[str, str], event: dict[str, Any]) -> list[str]:
    entry: dict[str, Any] = {
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": json.dumps(event["detail"]),
        "Resources": event.get("resources") or [],
    }
    if isinstance(event.get("time"), str):
        entry["Time"] = datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
    answer = events.put_events(Entries=[entry])
    if answer["FailedEntryCount"]:
        raise AssertionError(f"PutEvents refused the event: {answer['Entries']}")
    invoked = []
    for function, url in queues.items():
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        if messages:
            invoked.append(function)
    return invoked
