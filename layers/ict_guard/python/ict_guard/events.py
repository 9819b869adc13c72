"""CloudTrail "AWS API Call via CloudTrail" events, as EventBridge delivers them.

The event is a hint, not the truth: it names the job (and says what the caller asked for), and
everything the guard decides on comes from describing the job afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from ict_guard.jobs import JOB_APIS_BY_EVENT, JobApi, JobKind, lower_camel

Detail = TypeVar("Detail")

# Read by hand in pydantic's words, not with pydantic, for the cold start (issue 14): after boto3
# and Powertools, pydantic's import took 50 ms of CPU, Powertools' parser 3, the settings and event
# models 16, against 10 by hand: 58 ms, most of the 0.2 by which the guard missed 1.3x bare boto3.
# tests/unit/test_validation.py checks both accept and refuse the same inputs, problem by problem.
MISSING = "Field required"
NOT_TEXT = "Input should be a valid string"
NOT_TIME = "Input should be a valid datetime"


class Invalid(ValueError):
    """Every problem, as (location, message)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{where or 'input'}: {what}" for where, what in problems))
        self.problems = problems


class Fields:
    """One object's members. A bad one is recorded (never its value: input may be large or
    sensitive) and read as None, so one pass reports everything."""

    def __init__(self, value: Any, location: str, problems: list[tuple[str, str]], *, from_json: bool = False) -> None:
        self._location, self._problems = location, problems
        # pydantic words these in JSON's terms when it validates JSON text.
        self._object = "Input should be an object" if from_json else "Input should be a valid dictionary"
        self._list = "Input should be a valid array" if from_json else "Input should be a valid list"
        self.ok = isinstance(value, Mapping)
        self._value: Mapping[str, Any] = value if self.ok else {}
        if not self.ok:
            problems.append((location, self._object))

    def _member(self, key: str, required: bool, check: Callable[[Any], Any]) -> Any:
        where = f"{self._location}.{key}" if self._location else key
        if key not in self._value:
            if required and self.ok:
                self._problems.append((where, MISSING))
            return None
        value = self._value[key]
        if value is None and not required:
            return None
        try:
            return check(value)
        except ValueError as bad:
            message, *items = bad.args
            self._problems.extend((f"{where}{item}", message) for item in items or [""])
            return None

    def text(self, key: str, *, required: bool = True, min_length: int = 0, max_length: int = 1 << 30) -> str | None:
        def check(value: Any) -> str:
            if not isinstance(value, str):
                raise ValueError(NOT_TEXT)
            if len(value) < min_length:
                raise ValueError(f"String should have at least {min_length} character{'s' * (min_length > 1)}")
            if len(value) > max_length:
                raise ValueError(f"String should have at most {max_length} characters")
            return value

        return self._member(key, required, check)

    def object(self, key: str, *, required: bool = True) -> Any:
        def check(value: Any) -> Any:
            if not isinstance(value, Mapping):
                raise ValueError(self._object)
            return value

        return self._member(key, required, check)

    def texts(self, key: str) -> tuple[str, ...] | None:
        def check(value: Any) -> tuple[str, ...]:
            if not isinstance(value, list):
                raise ValueError(self._list)
            bad = [f".{index}" for index, item in enumerate(value) if not isinstance(item, str)]
            if bad:
                raise ValueError(NOT_TEXT, *bad)
            return tuple(value)

        return self._member(key, True, check)

    def time(self, key: str) -> datetime | None:
        # ISO 8601 text or seconds since the epoch, as pydantic takes them.
        def check(value: Any) -> datetime:
            try:
                if isinstance(value, datetime):
                    return value
                if isinstance(value, str):
                    return datetime.fromisoformat(value)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    return datetime.fromtimestamp(value, tz=UTC)
            except (ValueError, OverflowError, OSError):
                pass
            raise ValueError(NOT_TIME)

        return self._member(key, True, check)


class MalformedEvent(ValueError):
    """The event cannot name one job safely; retrying it would fail the same way."""

    def __init__(self, reason: str, event_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.event_id = event_id


@dataclass(frozen=True)
class EventBridgeEvent(Generic[Detail]):
    """EventBridge's envelope (the members of Powertools' `EventBridgeModel`) and the detail."""

    version: str
    id: str
    source: str
    account: str
    time: datetime
    region: str
    resources: tuple[str, ...]
    detail_type: str
    detail: Detail
    replay_name: str | None = None


def read_event(
    event: Any, detail: Callable[[Fields], dict[str, Any]], kind: Callable[..., Detail]
) -> EventBridgeEvent[Detail]:
    """The event checked as Powertools' parser checked it against `EventBridgeModel` (JSON text
    parsed first); `detail` reads the detail's members, `kind` makes them a record. Raises Invalid."""
    problems: list[tuple[str, str]] = []
    from_json = isinstance(event, str | bytes | bytearray)
    try:
        value = json.loads(event) if from_json else event
    except ValueError:
        raise Invalid([("", "Invalid JSON")]) from None
    fields = Fields(value, "", problems, from_json=from_json)
    members: dict[str, Any] = {
        "version": fields.text("version"),
        "id": fields.text("id"),
        "source": fields.text("source"),
        "account": fields.text("account"),
        "time": fields.time("time"),
        "region": fields.text("region"),
        "resources": fields.texts("resources"),
        "detail_type": fields.text("detail-type"),
    }
    raw = fields.object("detail")
    read = detail(Fields(raw, "detail", problems, from_json=from_json)) if raw is not None else None
    members["replay_name"] = fields.text("replay-name", required=False)
    if problems:
        raise Invalid(problems)
    return EventBridgeEvent(detail=kind(**(read or {})), **members)


@dataclass(frozen=True)
class CloudTrailApiCall:
    """The part of a CloudTrail record the guard reads; anything else is ignored."""

    event_id: str
    event_name: str
    event_source: str
    aws_region: str
    error_code: str | None
    request_parameters: dict[str, Any] | None
    response_elements: dict[str, Any] | None
    user_identity: dict[str, Any] | None


def _cloudtrail_members(fields: Fields) -> dict[str, Any]:
    return {
        "event_id": fields.text("eventID", min_length=1, max_length=128),
        "event_name": fields.text("eventName", min_length=1, max_length=128),
        "event_source": fields.text("eventSource"),
        "aws_region": fields.text("awsRegion"),
        "error_code": fields.text("errorCode", required=False),
        "request_parameters": fields.object("requestParameters", required=False),
        "response_elements": fields.object("responseElements", required=False),
        "user_identity": fields.object("userIdentity", required=False),
    }


CloudTrailEvent = EventBridgeEvent[CloudTrailApiCall]


@dataclass(frozen=True)
class JobCall:
    """One successful Create* call, reduced to what the guard needs."""

    kind: JobKind
    event_id: str
    event_name: str
    name: str
    arn: str | None
    account: str
    region: str
    initiated_by: str | None
    # The person behind a shared role (SageMaker Studio's execution role): CloudTrail's
    # sessionContext.sourceIdentity, or onBehalfOf for trusted identity propagation.
    acting_for: str | None
    requested_encryption: bool | None  # None: absent somewhere (the API default is false)
    # Per training definition (one for a training job): whether the caller sent
    # MetricDefinitions; None where CloudTrail did not record the algorithm specification.
    metric_definitions_sent: tuple[bool | None, ...]
    # SessionChainingConfig.EnableSessionTagChaining as sent (None: not recorded); Describe never
    # returns it, so only the event can tell.
    session_chaining: bool | None = None


class FailedCall(Exception):
    """The API call itself failed (CloudTrail errorCode): no job exists, nothing to do."""

    def __init__(self, error_code: str, event_id: str) -> None:
        super().__init__(f"the {error_code} call created nothing")
        self.error_code = error_code
        self.event_id = event_id


def parse_api_call(event: Any, *, service: str, event_names: Collection[str]) -> CloudTrailEvent:
    """Validate the envelope of an "AWS API Call via CloudTrail" event of `service`.

    Raises MalformedEvent (never retried) for a wrong shape, another service, an event name the
    guard does not handle or a region mismatch, and FailedCall for a call that failed.
    """
    event_id = _raw_event_id(event)
    try:
        parsed = read_event(event, _cloudtrail_members, CloudTrailApiCall)
    except Invalid as exc:
        raise MalformedEvent(describe_validation_error(exc), event_id) from None
    detail = parsed.detail
    event_id = detail.event_id
    if parsed.source != f"aws.{service}" or detail.event_source != f"{service}.amazonaws.com":
        label = {"sagemaker": "a SageMaker", "ec2": "an EC2"}.get(service, f"an {service}")
        raise MalformedEvent(f"not {label} event (source {parsed.source[:64]!r})", event_id)
    if detail.event_name not in event_names:
        raise MalformedEvent(f"unsupported eventName {detail.event_name[:64]!r}", event_id)
    if detail.error_code:
        raise FailedCall(detail.error_code[:64], event_id)
    if detail.aws_region != parsed.region:
        raise MalformedEvent("detail.awsRegion and region disagree", event_id)
    return parsed


def parse_job_call(event: Any) -> JobCall:
    """Validate an EventBridge CloudTrail event and name the job it is about.

    Raises MalformedEvent (never retried) or FailedCall (nothing to remediate).
    """
    parsed = parse_api_call(event, service="sagemaker", event_names=JOB_APIS_BY_EVENT)
    detail = parsed.detail
    event_id = detail.event_id
    spec = JOB_APIS_BY_EVENT[detail.event_name]

    request = detail.request_parameters or {}
    response = detail.response_elements or {}
    name = request.get(spec.event_name_parameter)
    arn = response.get(spec.event_arn_element)
    if arn is not None and not isinstance(arn, str):
        raise MalformedEvent(f"responseElements.{spec.event_arn_element} is not a string", event_id)
    arn_name = _name_from_arn(arn, spec, parsed.region, parsed.account) if arn else None
    if arn and arn_name is None:
        raise MalformedEvent(
            f"responseElements.{spec.event_arn_element} is not a {spec.kind} ARN of this account and region",
            event_id,
        )
    if name is None:
        name = arn_name  # SageMaker writes names into ARNs in lower case; describe accepts either
    if not isinstance(name, str) or not spec.name_pattern.match(name):
        raise MalformedEvent(f"requestParameters.{spec.event_name_parameter} is missing or invalid", event_id)
    if arn_name is not None and arn_name.lower() != name.lower():
        raise MalformedEvent("job name and job ARN name different jobs", event_id)

    definitions = _request_definitions(request, spec)
    flag_path = spec.event_flag_path(detail.event_name)
    flags = [_event_member(d, flag_path) for d in definitions]
    if any(f is not None and not isinstance(f, bool) for f in flags):
        raise MalformedEvent("enableInterContainerTrafficEncryption is not a boolean", event_id)
    requested = None if not flags or None in flags else all(flags)

    return JobCall(
        kind=spec.kind,
        event_id=event_id,
        event_name=detail.event_name,
        name=name,
        arn=arn,
        account=parsed.account,
        region=parsed.region,
        initiated_by=initiator(detail.user_identity),
        acting_for=acting_for(detail.user_identity),
        requested_encryption=requested,
        metric_definitions_sent=tuple(_metric_definitions_sent(d) for d in definitions),
        session_chaining=_session_chaining(request),
    )


def _raw_event_id(event: Any) -> str | None:
    """The CloudTrail eventID, else the EventBridge id, of an event that may be malformed."""
    if not isinstance(event, dict):
        return None
    detail = event.get("detail")
    candidate = detail.get("eventID") if isinstance(detail, dict) else None
    candidate = candidate if isinstance(candidate, str) else event.get("id")
    return candidate[:128] if isinstance(candidate, str) else None


def describe_validation_error(exc: Invalid) -> str:
    # Member locations and messages only: input values may be large or sensitive.
    return "invalid event: " + "; ".join(f"{where or 'event'}: {what}" for where, what in exc.problems[:5])


def _name_from_arn(arn: str, spec: JobApi, region: str, account: str) -> str | None:
    # arn:<partition>:sagemaker:<region>:<account>:<kind>/<name>
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sagemaker":
        return None
    if parts[3] != region or parts[4] != account:
        return None
    kind, _, name = parts[5].partition("/")
    if kind != spec.kind.value or not spec.name_pattern.match(name):
        return None
    return name


def initiator(identity: dict[str, Any] | None) -> str | None:
    """Who made the call: userIdentity's ARN, its role session's issuer, or its principal.

    Every level is checked for its type: the event is input, and a malformed identity must not
    make an otherwise valid event fail.
    """
    if not isinstance(identity, dict):
        return None
    context = identity.get("sessionContext")
    issuer = context.get("sessionIssuer") if isinstance(context, dict) else None
    issuer_arn = issuer.get("arn") if isinstance(issuer, dict) else None
    for candidate in (identity.get("arn"), issuer_arn, identity.get("principalId"), identity.get("invokedBy")):
        if isinstance(candidate, str) and candidate:
            return candidate[:512]
    return None


def acting_for(identity: dict[str, Any] | None) -> str | None:
    """The person a shared role acted for, when CloudTrail says so.

    SageMaker Studio runs every user's calls as the domain's execution role; when the domain sets
    a source identity, CloudTrail records it as `userIdentity.sessionContext.sourceIdentity`, and
    with IAM Identity Center trusted identity propagation as `userIdentity.onBehalfOf.userId`
    (CloudTrail userIdentity element, AWS CloudTrail User Guide).
    """
    if not isinstance(identity, dict):
        return None
    context = identity.get("sessionContext")
    source = context.get("sourceIdentity") if isinstance(context, dict) else None
    if isinstance(source, str) and source:
        return source[:256]
    behalf = identity.get("onBehalfOf")
    if not isinstance(behalf, dict):
        return None
    user = behalf.get("userId")
    if isinstance(user, str) and user:
        store = behalf.get("identityStoreArn")
        return f"{user[:128]} (identity store {store[:256]})" if isinstance(store, str) and store else user[:128]
    return None


def _session_chaining(request: dict[str, Any]) -> bool | None:
    config = request.get("sessionChainingConfig")
    if not isinstance(config, dict):
        return None
    value = config.get("enableSessionTagChaining")
    return value if isinstance(value, bool) else None


def _request_definitions(request: dict[str, Any], spec: JobApi) -> list[dict[str, Any]]:
    """The specs of the request (jobs.JobApi.specs), still in CloudTrail's lower camel case;
    absent or omitted ones read as unknown."""
    for path in spec.spec_paths:
        value = _event_member(request, path) if path else request
        if isinstance(value, dict):
            return [value]
        if isinstance(value, list):
            return [d if isinstance(d, dict) else {} for d in value]
    return []


def _event_member(definition: dict[str, Any], path: tuple[str, ...]) -> Any:
    """The member at `path` (API member names) in a lower-camel-case CloudTrail request."""
    value: Any = definition
    for member in path:
        if not isinstance(value, dict):
            return None
        value = value.get(lower_camel(member))
    return value


def _metric_definitions_sent(definition: dict[str, Any]) -> bool | None:
    algorithm = definition.get("algorithmSpecification")
    if not isinstance(algorithm, dict) or algorithm.get("omitted"):
        return None
    return "metricDefinitions" in algorithm
