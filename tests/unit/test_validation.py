"""The event records and the settings are checked by hand (ict_guard/events.py says why): they
must accept and refuse what the pydantic models they replaced did. The models are kept here, as
they were, as the reference; hypothesis mutates real events and environments, and both sides must
agree on every input, down to where each problem is."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

import pytest
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from ict_guard.events import CloudTrailApiCall, Invalid, _cloudtrail_members, read_event
from ict_guard.settings import VARIABLES, ConfigurationError, RemediationMode, Settings, UnrelaunchableJobAction
from ict_guard.state_changes import TuningStateChangeDetail, _tuning_members
from sandbox.template import EVENTS_DIR

pytestmark = pytest.mark.unit


# The pydantic models the records replaced, as they were.
class ReferenceCloudTrailApiCall(BaseModel):
    model_config = ConfigDict(extra="allow")

    event_id: str = Field(alias="eventID", min_length=1, max_length=128)
    event_name: str = Field(alias="eventName", min_length=1, max_length=128)
    event_source: str = Field(alias="eventSource")
    aws_region: str = Field(alias="awsRegion")
    error_code: str | None = Field(default=None, alias="errorCode")
    request_parameters: dict[str, Any] | None = Field(default=None, alias="requestParameters")
    response_elements: dict[str, Any] | None = Field(default=None, alias="responseElements")
    user_identity: dict[str, Any] | None = Field(default=None, alias="userIdentity")


class ReferenceCloudTrailEvent(EventBridgeModel):
    detail: ReferenceCloudTrailApiCall


class ReferenceTuningDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str = Field(alias="HyperParameterTuningJobName", min_length=1, max_length=32)
    status: str = Field(alias="HyperParameterTuningJobStatus", min_length=1, max_length=32)


class ReferenceTuningEvent(EventBridgeModel):
    detail: ReferenceTuningDetail


def _reference_problems(event: Any, model: type[BaseModel]) -> tuple[BaseModel | None, list[tuple[str, str]]]:
    try:
        return parse(event=event, model=model), []
    except ValidationError as exc:
        return None, [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]


def _problems(event: Any, members: Any, kind: Any) -> tuple[Any, list[tuple[str, str]]]:
    try:
        return read_event(event, members, kind), []
    except Invalid as exc:
        return None, exc.problems


def assert_same_verdict(event: Any, reference_model: type[BaseModel], members: Any, kind: Any) -> None:
    expected, expected_problems = _reference_problems(copy.deepcopy(event), reference_model)
    got, problems = _problems(copy.deepcopy(event), members, kind)
    assert [where for where, _ in problems] == [where for where, _ in expected_problems], event
    for (_, ours), (_, theirs) in zip(problems, expected_problems, strict=True):
        # pydantic adds detail to some ("... or instance of <model>", "..., invalid character").
        assert theirs.startswith(ours), (ours, theirs)
    if expected is not None:
        assert got is not None
        assert (got.id, got.source, got.account, got.region, got.detail_type) == (
            expected.id,  # type: ignore[attr-defined]
            expected.source,  # type: ignore[attr-defined]
            expected.account,  # type: ignore[attr-defined]
            expected.region,  # type: ignore[attr-defined]
            expected.detail_type,  # type: ignore[attr-defined]
        )
        assert got.time == expected.time  # type: ignore[attr-defined]
        assert list(got.resources) == expected.resources  # type: ignore[attr-defined]


def _real_events(detail_type: str) -> list[dict[str, Any]]:
    found = []
    for path in sorted(EVENTS_DIR.rglob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(document, dict) and document.get("detail-type") == detail_type:
            found.append(document)
    return found


CLOUDTRAIL_EVENTS = _real_events("AWS API Call via CloudTrail")

# Values every member is tried with: the right type, the wrong ones, the limits.
PALETTE: list[Any] = [
    "text",
    "",
    "x" * 128,
    "x" * 129,
    42,
    1.5,
    True,
    None,
    [],
    ["a", "b"],
    ["a", 1],
    [1, "a", None],
    {},
    {"k": "v"},
    "2026-11-26T10:00:00Z",
    "2026-11-26T10:00:00.123+02:00",
    "yesterday",
    1_700_000_000,
]
ENVELOPE = ["version", "id", "source", "account", "time", "region", "resources", "detail-type", "detail", "replay-name"]
CLOUDTRAIL = [
    "eventID",
    "eventName",
    "eventSource",
    "awsRegion",
    "errorCode",
    "requestParameters",
    "responseElements",
    "userIdentity",
]
MISSING = object()


def mutated(event: dict[str, Any], changes: list[tuple[str, Any]]) -> dict[str, Any]:
    event = copy.deepcopy(event)
    for path, value in changes:
        node = event
        *parents, leaf = path.split("/")
        for parent in parents:
            node = node.get(parent) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            continue
        if value is MISSING:
            node.pop(leaf, None)
        else:
            node[leaf] = copy.deepcopy(value)
    return event


def test_the_corpus_has_real_events_of_both_kinds():
    assert len(CLOUDTRAIL_EVENTS) >= 10
    assert _real_events("SageMaker HyperParameter Tuning Job State Change")


@pytest.mark.parametrize("path", sorted(p.name for p in (EVENTS_DIR / "invalid").glob("*.json")))
def test_every_file_of_the_bad_input_corpus_gets_the_same_verdict(path):
    event = json.loads((EVENTS_DIR / "invalid" / path).read_text(encoding="utf-8"))
    assert_same_verdict(event, ReferenceCloudTrailEvent, _cloudtrail_members, CloudTrailApiCall)


@pytest.mark.parametrize(
    "event",
    ["not json", '{"id": 1}', "[]", "null", 42, None, [], [CLOUDTRAIL_EVENTS[0]], json.dumps(CLOUDTRAIL_EVENTS[0])],
    ids=repr,
)
def test_what_is_not_an_object_gets_the_same_verdict(event):
    assert_same_verdict(event, ReferenceCloudTrailEvent, _cloudtrail_members, CloudTrailApiCall)


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(CLOUDTRAIL_EVENTS),
    st.lists(
        st.tuples(
            st.sampled_from(ENVELOPE + [f"detail/{m}" for m in CLOUDTRAIL]),
            st.sampled_from([*PALETTE, MISSING]),
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_cloudtrail_events_get_the_same_verdict_as_from_the_pydantic_models(event, changes):
    assert_same_verdict(mutated(event, changes), ReferenceCloudTrailEvent, _cloudtrail_members, CloudTrailApiCall)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(_real_events("SageMaker HyperParameter Tuning Job State Change")),
    st.lists(
        st.tuples(
            st.sampled_from(
                [*ENVELOPE, "detail/HyperParameterTuningJobName", "detail/HyperParameterTuningJobStatus"]
            ),
            st.sampled_from([*PALETTE, "x" * 32, "x" * 33, MISSING]),
        ),
        min_size=1,
        max_size=3,
    ),
)
def test_state_change_events_get_the_same_verdict_as_from_the_pydantic_models(event, changes):
    assert_same_verdict(mutated(event, changes), ReferenceTuningEvent, _tuning_members, TuningStateChangeDetail)


def test_a_valid_event_keeps_what_the_guard_reads():
    event = CLOUDTRAIL_EVENTS[0]
    parsed = read_event(event, _cloudtrail_members, CloudTrailApiCall)
    detail = event["detail"]
    assert parsed.detail.event_id == detail["eventID"]
    assert parsed.detail.event_name == detail["eventName"]
    assert parsed.detail.request_parameters == detail.get("requestParameters")
    assert parsed.detail.user_identity == detail.get("userIdentity")
    assert parsed.time == datetime.fromisoformat(event["time"])


# The settings model the dataclass replaced, as it was.
_TAG_KEY = re.compile(r"^(?!aws:)[\w.:/=+\-@ ]{1,128}$")


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _boolean(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes"}:
        return True
    if text in {"false", "0", "no"}:
        return False
    raise ValueError("is not true or false")


def _optional_text(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _arn(value: Any) -> Any:
    value = _optional_text(value)
    if value is not None and not str(value).startswith("arn:"):
        raise ValueError("is not an ARN")
    return value


Flag = Annotated[bool, BeforeValidator(_boolean)]
OptionalArn = Annotated[str | None, BeforeValidator(_arn)]
OptionalText = Annotated[str | None, BeforeValidator(_optional_text)]


class ReferenceSettings(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    mode: Annotated[RemediationMode, BeforeValidator(_lower)] = Field(RemediationMode.NOTIFY, alias="REMEDIATION_MODE")
    min_instance_count: int = Field(2, ge=1, alias="MIN_INSTANCE_COUNT")
    exempt_tag_key: str = Field("ict-guard:exempt", alias="EXEMPT_TAG_KEY")
    repair_security_groups: Flag = Field(True, alias="REPAIR_SECURITY_GROUPS")
    alert_topic_arn: OptionalArn = Field(None, alias="ALERT_TOPIC_ARN")
    idempotency_table_name: OptionalText = Field(None, alias="IDEMPOTENCY_TABLE_NAME")
    unrelaunchable_job_action: Annotated[UnrelaunchableJobAction, BeforeValidator(_lower)] = Field(
        UnrelaunchableJobAction.NOTIFY, alias="UNRELAUNCHABLE_JOB_ACTION"
    )
    chat_topic_arn: OptionalArn = Field(None, alias="CHAT_TOPIC_ARN")
    security_hub_findings: Flag = Field(False, alias="SECURITY_HUB_FINDINGS")
    relaunch_role_pattern: OptionalText = Field(None, alias="RELAUNCH_ROLE_PATTERN")

    @field_validator("exempt_tag_key", mode="before")
    @classmethod
    def _tag_key(cls, value: Any) -> Any:
        value = value.strip() if isinstance(value, str) else value
        if not isinstance(value, str) or not _TAG_KEY.match(value):
            raise ValueError("is not a valid tag key")
        return value

    @field_validator("relaunch_role_pattern")
    @classmethod
    def _any_role(cls, value: str | None) -> str | None:
        return None if value == "*" else value


ENVIRONMENT_VALUES: dict[str, list[str]] = {
    "REMEDIATION_MODE": ["notify", "Stop", " RELAUNCH ", "delete", ""],
    "MIN_INSTANCE_COUNT": ["1", "4", "0", "-1", "x", "2.5", "", "1000"],
    "EXEMPT_TAG_KEY": ["ict-guard:exempt", " team/ml exempt ", "aws:exempt", "", "bad#key", "x" * 129],
    "REPAIR_SECURITY_GROUPS": ["true", "YES", "0", "no", "maybe", ""],
    "ALERT_TOPIC_ARN": ["", "  ", "arn:aws:sns:us-east-1:123456789012:alerts", "alerts"],
    "IDEMPOTENCY_TABLE_NAME": ["", " table ", "t"],
    "UNRELAUNCHABLE_JOB_ACTION": ["notify", "STOP", "relaunch", ""],
    "CHAT_TOPIC_ARN": ["", "arn:aws:sns:us-east-1:123456789012:chat", "chat"],
    "SECURITY_HUB_FINDINGS": ["false", "1", "off"],
    "RELAUNCH_ROLE_PATTERN": ["*", "service-role/AmazonSageMaker-*", "", " x "],
}


def test_the_environment_values_cover_every_variable():
    assert set(ENVIRONMENT_VALUES) == set(VARIABLES)
    assert set(VARIABLES.values()) == set(ReferenceSettings.model_fields)


@settings(max_examples=500, deadline=None)
@given(st.fixed_dictionaries({}, optional={k: st.sampled_from(v) for k, v in ENVIRONMENT_VALUES.items()}))
def test_settings_accept_and_refuse_what_the_pydantic_model_did(environ: Mapping[str, str]):
    try:
        expected = ReferenceSettings.model_validate(dict(environ))
        refused: set[str] = set()
    except ValidationError as exc:
        expected = None
        refused = {str(e["loc"][0]) for e in exc.errors()}
    try:
        got = Settings.from_env(environ)
    except ConfigurationError as exc:
        assert expected is None, (environ, exc)
        named = {variable for variable in VARIABLES if f"{variable}=" in str(exc)}
        assert named == refused
        return
    assert expected is not None, environ
    for variable, field in VARIABLES.items():
        assert getattr(got, field) == getattr(expected, field), variable


def test_settings_made_in_code_are_checked_too():
    with pytest.raises(ConfigurationError, match="min_instance_count"):
        Settings(min_instance_count=0)
    assert Settings(mode="Relaunch").mode is RemediationMode.RELAUNCH  # type: ignore[arg-type]


def test_a_role_pattern_reads_as_iam_does():
    settings_ = Settings(relaunch_role_pattern="service-role/AmazonSageMaker-*")
    assert settings_.may_pass_role("arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-x")
    assert not settings_.may_pass_role("arn:aws:iam::123456789012:role/Admin")
