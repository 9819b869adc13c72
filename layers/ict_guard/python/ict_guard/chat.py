"""The alert as an AWS Chatbot (Amazon Q Developer in chat applications) custom notification,
so that Slack and Teams render a card; sent on the optional chat topic by publishing.py."""

from __future__ import annotations

import json
from typing import Any

from ict_guard.alert_actions import SECURITY_GROUP, Severity, kind_label
from ict_guard.alerts import Alert

# AWS Chatbot / Amazon Q Developer in chat applications custom notifications: the event schema
# of https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html ("version" must be
# "1.0", "source" must be "custom"; only textType "client-markdown" is supported, rendered in
# the chat platform's own markdown). Chatbot drops SNS messages that are not in a format it
# knows, so the chat topic gets this document alone, not the alert topic's per-protocol message.
CHAT_NOTIFICATION_VERSION = "1.0"
_CHAT_DESCRIPTION_CHARS = 3_500  # a Slack message block holds 3,000 characters of text plus links
_CHAT_ICON = {
    Severity.CRITICAL: ":rotating_light:",
    Severity.HIGH: ":warning:",
    Severity.MEDIUM: ":large_yellow_circle:",
    Severity.LOW: ":information_source:",
}


def chat_notification(alert: Alert) -> dict[str, Any]:
    """The alert as a Chatbot custom notification: a card with a title, the facts, next steps."""
    facts = [
        f"*{alert.wording.who_label}* {alert.who()}",
        f"*What:* {alert.what_happened()}",
        f"*Guard did:* {alert.what_was_done()}",
        f"*Why:* {alert.reason}",
    ]
    facts += [f"*Needs attention:* {problem}" for problem in alert.problems]
    facts += [f"*Not done yet:* {step}" for step in alert.steps_pending]
    facts += [f"*Note:* {note}" for note in alert.notes]
    description = "\n".join(facts)
    if len(description) > _CHAT_DESCRIPTION_CHARS:
        description = description[: _CHAT_DESCRIPTION_CHARS - 1] + "\u2026"
    next_steps = [alert.next_step()]
    next_steps += [f"{label}: {url}" for label, url in alert.links()]
    if alert.exempt_tag_key and alert.resource_type != SECURITY_GROUP:
        next_steps.append(f"Exempt a job: tag it {alert.exempt_tag_key}=true when you create it")
    related = [alert.arn] if alert.arn else []
    return {
        "version": CHAT_NOTIFICATION_VERSION,
        "source": "custom",
        "id": f"{alert.event_id or 'no-event'}/{alert.action.value}",
        "content": {
            "textType": "client-markdown",
            "title": f"{_CHAT_ICON[alert.severity]} {alert.headline()}",
            "description": description,
            "nextSteps": next_steps,
            "keywords": [
                alert.severity.value,
                alert.action.value,
                kind_label(alert.resource_type),
                alert.account,
                alert.region,
            ],
        },
        "metadata": {
            # One thread per resource: a failure and the retry that finished the work read together.
            "threadId": f"ict-guard/{alert.account}/{alert.region}/{alert.resource_type}/{alert.name.lower()}",
            "summary": alert.headline()[:200],
            "eventType": alert.action.value,
            "relatedResources": related,
            "additionalContext": {
                "severity": alert.severity.value,
                "account": alert.account,
                "region": alert.region,
                "mode": alert.mode,
                "event_id": str(alert.event_id),
            },
        },
    }


def chat_publish_arguments(alert: Alert, topic_arn: str) -> dict[str, Any]:
    return {
        "TopicArn": topic_arn,
        "Message": json.dumps(chat_notification(alert)),
        # The same attributes as the alert topic's, for subscription filter policies.
        "MessageAttributes": {
            "action": {"DataType": "String", "StringValue": alert.action.value},
            "severity": {"DataType": "String", "StringValue": alert.severity.value},
        },
    }
