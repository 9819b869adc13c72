"""Alerts: one SNS message per outcome, readable text for people and one JSON document for
machines (the alert schema of DESIGN.md), with `action` and `severity` message attributes for
subscription filter policies. An Alert is built complete and never changed; its sentences come
from the wording of its resource kind (wording.py). Publishing, and the chat card on an optional
second topic, are in publishing.py and chat.py."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from ict_guard.alert_actions import (
    _BASE_SEVERITY,
    SCHEMA_VERSION,
    SECURITY_GROUP,
    AlertAction,
    Severity,
    cloudtrail_event_url,
    console_url,
    initiator_label,
    kind_label,
)
from ict_guard.wording import Wording, wording_for

__all__ = [
    "SECURITY_GROUP",
    "Alert",
    "AlertAction",
    "Severity",
    "console_url",
    "initiator_label",
    "kind_label",
]

# SNS takes at most 256 KiB per message, and the JSON document is sent once per protocol.
_MAX_DOCUMENT_BYTES = 60_000


@dataclass(frozen=True)
class Alert:
    action: AlertAction
    resource_type: str
    name: str
    arn: str | None
    account: str
    region: str
    event_id: str | None
    reason: str
    mode: str
    initiated_by: str | None = None
    # The person behind a shared role (CloudTrail sourceIdentity / onBehalfOf), when recorded.
    acting_for: str | None = None
    # Shown instead of a caller when the guard knows the change was not this event's caller's
    # (security-group guard); the CloudTrail link is left out too: it would point at that call.
    initiator_note: str | None = None
    instance_count: int | None = None
    relaunched_as: str | None = None
    security_groups: list[str] = field(default_factory=list)
    rules_added: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    steps_done: list[str] = field(default_factory=list)
    steps_pending: list[str] = field(default_factory=list)
    relaunch_request: dict[str, Any] | None = None
    # Where the durable copy of relaunch_request is (the ledger item), for when it is too large.
    relaunch_request_location: str | None = None
    # A ready `aws sagemaker create-...` command that sends relaunch_request.
    relaunch_command: str | None = None
    exempt_tag_key: str | None = None
    # Whether the job has inter-container traffic encryption on (None: not a job, or unknown);
    # Security Hub findings are only about jobs that do not.
    encrypted: bool | None = None
    # A person must act: the guard cannot (or could not) re-launch the job as the same workload.
    action_needed: bool = False

    @property
    def wording(self) -> Wording:
        return wording_for(self.resource_type)

    @property
    def severity(self) -> Severity:
        base = _BASE_SEVERITY[self.action]
        if (self.problems or self.action_needed) and base in (Severity.MEDIUM, Severity.LOW):
            return Severity.HIGH
        return base

    def document(self) -> dict[str, Any]:
        doc = asdict(self)
        for key in ("name", "arn", "resource_type", "exempt_tag_key"):
            doc.pop(key)
        doc.update(
            schema_version=SCHEMA_VERSION,
            action=self.action.value,
            severity=self.severity.value,
            resource={"type": self.resource_type, "name": self.name, "arn": self.arn},
            console_url=console_url(self.region, self.resource_type, self.name),
            timestamp=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )
        if len(json.dumps(doc, default=str)) > _MAX_DOCUMENT_BYTES:
            doc["relaunch_request"] = None
            doc["relaunch_command"] = None
            location = self.relaunch_request_location
            where = f"; the full request is in {location}" if location else ""
            doc["problems"] = [*self.problems, f"relaunch_request left out: too large for SNS{where}"]
        return doc

    def headline(self) -> str:
        """The first line: what the guard did, to which resource."""
        return self.wording.headline(self)

    def subject(self) -> str:
        text = f"[ict-guard] {self.headline()}"
        return text.encode("ascii", "replace").decode()[:100]

    def next_step(self) -> str:
        """What the reader should do now, if anything."""
        return self.wording.next_step(self)

    def what_happened(self) -> str:
        return self.wording.what_happened(self)

    def what_was_done(self) -> str:
        return self.wording.what_was_done(self)

    def who(self) -> str:
        return self.initiator_note or initiator_label(self.initiated_by, self.acting_for)

    def text(self) -> str:
        """E-mail text that reads in five seconds: the first line says what was done to which
        job, the next lines who started it, what the guard did, and what is left to do."""
        wording = self.wording
        lines = [
            self.headline(),
            "",
            wording.who_label.ljust(13) + self.who(),
            "What:        " + self.what_happened(),
            "Guard did:   " + self.what_was_done(),
            "Next step:   " + self.next_step(),
            "Why:         " + self.reason,
        ]
        if self.rules_added:
            lines.append("Security-group rules added (self-referencing):")
            lines += [
                f"  - {r['group_id']}: {r['direction']} "
                + ("UDP 500" if r["protocol"] == "udp" else "ESP (IP protocol 50)")
                for r in self.rules_added
            ]
        for title, items in (
            ("Needs attention:", self.problems),
            ("Notes:", self.notes),
            ("Not done yet (a retry or a person must finish):", self.steps_pending),
        ):
            if items:
                lines += [title, *(f"  - {item}" for item in items)]
        if self.relaunch_command:
            lines += [
                "",
                "To start the encrypted job yourself (the exact request the guard sent):",
                self.relaunch_command,
            ]
        lines += ["", "Links:"]
        lines += [f"  {label}: {url}" for label, url in self.links()]
        lines += ["", f"Account {self.account}, region {self.region}, event {self.event_id}, mode {self.mode}."]
        lines += wording.footer(self)
        return "\n".join(lines)

    def links(self) -> list[tuple[str, str]]:
        """Console links: the resource, the re-launched copy, the CloudTrail event."""
        wording = self.wording
        links = [(wording.link_label, console_url(self.region, self.resource_type, self.name))]
        copy = wording.copy_link(self)
        if copy:
            links.append(("Re-launch", copy))
        event_url = cloudtrail_event_url(self.region, self.event_id)
        if event_url and not self.initiator_note:
            links.append(("CloudTrail event", event_url))
        return links
