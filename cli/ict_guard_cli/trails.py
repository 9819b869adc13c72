"""The guard's prerequisite: a CloudTrail trail that logs write management events in the region.

"AWS API Call via CloudTrail" events reach EventBridge only where such a trail exists. A trail
applies to a region if it lives there or is multi-region (an organization trail included), is
logging, and its event selectors let a write management event of SageMaker through. Basic
selectors say that with ReadWriteType and IncludeManagementEvents; advanced selectors with field
conditions, which are evaluated here against the event the guard depends on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from ict_guard_cli.session import AwsContext, explain_aws_error

# The CloudTrail record of the call the guard reacts to, in the fields advanced selectors test.
GUARDED_EVENT: Mapping[str, str] = {
    "eventCategory": "Management",
    "readOnly": "false",
    "eventSource": "sagemaker.amazonaws.com",
    "eventName": "CreateTrainingJob",
    "eventType": "AwsApiCall",
}


def basic_selectors_log_writes(selectors: Iterable[Mapping[str, Any]]) -> bool:
    """Basic event selectors: one selector that includes management events and is not read-only."""
    for selector in selectors:
        if not selector.get("IncludeManagementEvents", True):
            continue
        if selector.get("ReadWriteType", "All") not in ("All", "WriteOnly"):
            continue
        # Only KMS and RDS Data API events can be excluded from management events.
        if GUARDED_EVENT["eventSource"] in (selector.get("ExcludeManagementEventSources") or ()):
            continue
        return True
    return False


def _field_matches(field_selector: Mapping[str, Any], value: str | None) -> bool:
    """All operators of one field selector must hold (positive ones OR over their values,
    negated ones AND); a field the event does not have matches only negated operators."""
    checks = {
        "Equals": lambda v, xs: v is not None and v in xs,
        "StartsWith": lambda v, xs: v is not None and any(v.startswith(x) for x in xs),
        "EndsWith": lambda v, xs: v is not None and any(v.endswith(x) for x in xs),
        "NotEquals": lambda v, xs: v is None or v not in xs,
        "NotStartsWith": lambda v, xs: v is None or not any(v.startswith(x) for x in xs),
        "NotEndsWith": lambda v, xs: v is None or not any(v.endswith(x) for x in xs),
    }
    for operator, check in checks.items():
        values = field_selector.get(operator)
        if values and not check(value, [str(x) for x in values]):
            return False
    return True


def advanced_selectors_log_writes(selectors: Iterable[Mapping[str, Any]]) -> bool:
    """Advanced event selectors: one selector whose field selectors all match the guarded event."""
    for selector in selectors:
        fields = selector.get("FieldSelectors") or []
        if fields and all(_field_matches(f, GUARDED_EVENT.get(str(f.get("Field")))) for f in fields):
            return True
    return False


@dataclass
class TrailCheck:
    name: str
    arn: str
    home_region: str
    multi_region: bool
    organization: bool
    logging: bool | None = None
    management_events: bool | None = None
    problem: str | None = None

    @property
    def qualifies(self) -> bool:
        return bool(self.logging and self.management_events)


@dataclass
class CloudTrailAudit:
    region: str
    trails: list[TrailCheck] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return any(t.qualifies for t in self.trails)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "trails": [{**asdict(t), "qualifies": t.qualifies} for t in self.trails],
            "error": self.error,
        }


def _reason(trail: TrailCheck) -> str | None:
    if trail.logging is False:
        return "not logging (StopLogging)"
    if trail.management_events is False:
        return "does not log write management events"
    return None


def audit_cloudtrail(aws: AwsContext) -> CloudTrailAudit:
    """DescribeTrails (shadow trails included: multi-region and organization trails created in
    another region), then GetTrailStatus and GetEventSelectors of each in its home region."""
    region = aws.region_name
    audit = CloudTrailAudit(region)
    try:
        trails = aws.client("cloudtrail").describe_trails(includeShadowTrails=True)["trailList"]
    except ClientError as exc:
        audit.error = explain_aws_error(exc).message
        return audit
    for trail in trails:
        home = trail.get("HomeRegion") or region
        multi = bool(trail.get("IsMultiRegionTrail"))
        if home != region and not multi:
            continue
        check = TrailCheck(
            name=trail["Name"],
            arn=trail.get("TrailARN", trail["Name"]),
            home_region=home,
            multi_region=multi,
            organization=bool(trail.get("IsOrganizationTrail")),
        )
        # A shadow trail is read by ARN in its home region; an organization trail of another
        # account may refuse a member account: reported, not fatal.
        client = aws.client("cloudtrail", home)
        try:
            check.logging = bool(client.get_trail_status(Name=check.arn).get("IsLogging"))
            selectors = client.get_event_selectors(TrailName=check.arn)
            check.management_events = basic_selectors_log_writes(
                selectors.get("EventSelectors") or ()
            ) or advanced_selectors_log_writes(selectors.get("AdvancedEventSelectors") or ())
            check.problem = _reason(check)
        except ClientError as exc:
            check.problem = explain_aws_error(exc).message
        audit.trails.append(check)
    return audit


def describe_trail(trail: TrailCheck) -> str:
    scope = "organization, " if trail.organization else ""
    scope += "multi-region" if trail.multi_region else f"region {trail.home_region}"
    return f"{trail.name} ({scope})"
