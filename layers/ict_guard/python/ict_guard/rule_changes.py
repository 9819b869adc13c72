"""EC2 CloudTrail events of calls that remove or change security-group rules.

Like a job event, the event is only a hint: it names the group, the caller and the direction of the
change. Whether anything is missing afterwards is read from DescribeSecurityGroups, never from the
event's rule list (a revoke by rule ID and ModifySecurityGroupRules do not even say what the rule
was before).

CloudTrail records these calls in two shapes:
- RevokeSecurityGroupIngress/Egress in EC2's own lower-camel shape:
  ``{"groupId": "sg-..", "ipPermissions": {"items": [{"ipProtocol": "udp", ...}]}}``
  (or ``groupName`` instead of ``groupId``: a default-VPC group named by its name);
- ModifySecurityGroupRules, one of EC2's newer APIs, wrapped in the request's name with the
  query-string keys: ``{"ModifySecurityGroupRulesRequest": {"GroupId": "sg-..", ...}}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ict_guard.events import MalformedEvent, initiator, parse_api_call
from ict_guard.security_groups import Direction

# Every call that can take an IPsec rule away from a group, and the directions it can touch.
# (DeleteSecurityGroup removes the group itself: nothing is left to restore. Description updates
# and tag changes leave the rules alone; removing the managed tag releases the group.)
RULE_CHANGE_DIRECTIONS: dict[str, tuple[Direction, ...]] = {
    "RevokeSecurityGroupIngress": (Direction.INGRESS,),
    "RevokeSecurityGroupEgress": (Direction.EGRESS,),
    "ModifySecurityGroupRules": (Direction.INGRESS, Direction.EGRESS),
}

# sg- and 8 or 17 hexadecimal digits.
GROUP_ID = re.compile(r"^sg-[0-9a-f]{8}(?:[0-9a-f]{9})?$")
_MAX_GROUP_NAME = 255


@dataclass(frozen=True)
class RuleChange:
    """One successful call that removed or changed rules of one security group."""

    event_id: str
    event_name: str
    group_id: str | None  # None: a default-VPC group named only by group_name
    group_name: str | None
    account: str
    region: str
    changed_by: str | None  # the userIdentity ARN (or principal) that made the call
    directions: tuple[Direction, ...]

    @property
    def group(self) -> str:
        """The group as the event names it: its ID, else its name."""
        return self.group_id or f"name:{self.group_name}"


def parse_rule_change(event: Any) -> RuleChange:
    """Validate an EventBridge CloudTrail event of an EC2 rule change and name the group.

    Raises MalformedEvent (never retried) or FailedCall (the call changed nothing).
    """
    parsed = parse_api_call(event, service="ec2", event_names=RULE_CHANGE_DIRECTIONS)
    detail = parsed.detail
    event_id = detail.event_id
    directions = RULE_CHANGE_DIRECTIONS[detail.event_name]

    group_id, group_name = _group_of(detail.request_parameters or {})
    if group_id is not None and not (isinstance(group_id, str) and GROUP_ID.match(group_id)):
        raise MalformedEvent("the security group ID is not a valid group ID", event_id)
    if group_id is None:
        if not isinstance(group_name, str) or not 0 < len(group_name) <= _MAX_GROUP_NAME:
            raise MalformedEvent("the event names no security group", event_id)
    else:
        group_name = None  # the ID is what EC2 acted on

    return RuleChange(
        event_id=event_id,
        event_name=detail.event_name,
        group_id=group_id,
        group_name=group_name,
        account=parsed.account,
        region=parsed.region,
        changed_by=initiator(detail.user_identity),
        directions=directions,
    )


def _group_of(request: dict[str, Any]) -> tuple[Any, Any]:
    """(group ID, group name) as the request carried them, in either of CloudTrail's shapes."""
    wrapped = request.get("ModifySecurityGroupRulesRequest")
    if isinstance(wrapped, dict):
        return wrapped.get("GroupId"), None
    return request.get("groupId"), request.get("groupName")
