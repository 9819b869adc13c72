"""SageMaker's own job state-change events (not CloudTrail), as EventBridge delivers them: a tuning
job the guard stopped reached a new status, and the guard may owe it its copy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ict_guard.events import EventBridgeEnvelope, MalformedEvent, describe_validation_error
from ict_guard.jobs import JOB_APIS, JobKind

TUNING_STATE_CHANGE = "SageMaker HyperParameter Tuning Job State Change"


class TuningStateChangeDetail(BaseModel):
    """SageMaker's own state-change event (not CloudTrail): the fields the guard reads."""

    model_config = ConfigDict(extra="allow")

    name: str = Field(alias="HyperParameterTuningJobName", min_length=1, max_length=32)
    status: str = Field(alias="HyperParameterTuningJobStatus", min_length=1, max_length=32)


class TuningStateChangeEvent(EventBridgeEnvelope):
    detail: TuningStateChangeDetail


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
        parsed: TuningStateChangeEvent = parse(event=event, model=TuningStateChangeEvent)
    except (ValidationError, TypeError, ValueError) as exc:
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
