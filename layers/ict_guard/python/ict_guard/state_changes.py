"""SageMaker's own job state-change events (not CloudTrail), as EventBridge delivers them: a tuning
job the guard stopped reached a new status, and the guard may owe it its copy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ict_guard.events import Fields, Invalid, MalformedEvent, describe_validation_error, read_event
from ict_guard.jobs import JOB_APIS, JobKind

TUNING_STATE_CHANGE = "SageMaker HyperParameter Tuning Job State Change"


@dataclass(frozen=True)
class TuningStateChangeDetail:
    """SageMaker's own state-change event (not CloudTrail): the fields the guard reads."""

    name: str
    status: str


def _tuning_members(fields: Fields) -> dict[str, Any]:
    return {
        "name": fields.text("HyperParameterTuningJobName", min_length=1, max_length=32),
        "status": fields.text("HyperParameterTuningJobStatus", min_length=1, max_length=32),
    }


@dataclass(frozen=True)
class StateChange:
    """A tuning job reached a new status; the guard may owe it a re-launch."""

    kind: JobKind
    event_id: str
    name: str
    status: str
    account: str
    region: str


def is_state_change(event: Any) -> bool:
    return isinstance(event, dict) and event.get("detail-type") == TUNING_STATE_CHANGE


def parse_state_change(event: Any) -> StateChange:
    """Validate a "SageMaker HyperParameter Tuning Job State Change" event (raises MalformedEvent)."""
    event_id = event.get("id") if isinstance(event, dict) and isinstance(event.get("id"), str) else None
    try:
        parsed = read_event(event, _tuning_members, TuningStateChangeDetail)
    except Invalid as exc:
        raise MalformedEvent(describe_validation_error(exc), event_id and event_id[:128]) from None
    event_id = parsed.id[:128]
    if parsed.source != "aws.sagemaker" or parsed.detail_type != TUNING_STATE_CHANGE:
        raise MalformedEvent("not a SageMaker tuning-job state change", event_id)
    api = JOB_APIS[JobKind.TUNING]
    if not api.name_pattern.match(parsed.detail.name):
        raise MalformedEvent("HyperParameterTuningJobName is invalid", event_id)
    return StateChange(
        kind=JobKind.TUNING,
        event_id=event_id,
        name=parsed.detail.name,
        status=parsed.detail.status,
        account=parsed.account,
        region=parsed.region,
    )
