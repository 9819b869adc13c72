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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ict_guard.events import MalformedEvent, initiator, parse_api_call
from ict_guard.security_groups import IPSEC_NEEDS, Direction, permission_covers

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
    # The rules (SDK shape) this call's own request removed that gave the group IPsec coverage;
    # None when the event cannot tell (see removed_ipsec_rules).
    ipsec_rules_removed: list[dict[str, Any]] | None = None

    @property
    def removes_ipsec(self) -> bool | None:
        """Whether this call's own request removed IPsec coverage (None: cannot tell)."""
        return None if self.ipsec_rules_removed is None else bool(self.ipsec_rules_removed)

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
        ipsec_rules_removed=removed_ipsec_rules(
            detail.event_name,
            detail.request_parameters or {},
            detail.response_elements or {},
            group_id,
            directions,
        ),
    )


def _group_of(request: dict[str, Any]) -> tuple[Any, Any]:
    """(group ID, group name) as the request carried them, in either of CloudTrail's shapes."""
    wrapped = request.get("ModifySecurityGroupRulesRequest")
    if isinstance(wrapped, dict):
        return wrapped.get("GroupId"), None
    return request.get("groupId"), request.get("groupName")


# -- which rules the call itself removed ---------------------------------------------------------
#
# Shapes (EC2 API reference, RevokeSecurityGroupIngress/Egress, docs.aws.amazon.com/AWSEC2/latest/
# APIReference/API_RevokeSecurityGroupIngress.html: "You can specify rules using either rule IDs or
# security group rule properties"; the response's RevokedSecurityGroupRules, "details about the
# revoked security group rules", in the SDK references, e.g. the Kotlin SDK's
# RevokeSecurityGroupIngressResponse; botocore names it revokedSecurityGroupRuleSet on the wire):
# - by properties, CloudTrail's EC2 shape (events/sg-revoke-ingress-ipsec-managed.json):
#   {"groupId": "sg-..", "ipPermissions": {"items": [{"ipProtocol": "udp", "fromPort": 500,
#    "toPort": 500, "groups": {"items": [{"groupId": "sg-.."}]}, "ipRanges": {}, ...}]}};
# - by rule ID: the request names only IDs; what the rules were is in the response,
#   {"revokedSecurityGroupRuleSet": {"items": [{"securityGroupRuleId": "sgr-..", "ipProtocol":
#    "50", "fromPort": -1, "toPort": -1, "referencedGroupId": "sg-..", "isEgress": true}]}},
#   when EC2 returns it (older records and moto do not).
# No published CloudTrail record of a revoke by rule ID turned up in our searches of public
# documentation and pages; the response shape above follows the service model. A request we cannot
# read is "unknown" (None), never "did not touch".


def removed_ipsec_rules(
    event_name: str,
    request: dict[str, Any],
    response: dict[str, Any],
    group_id: str | None,
    directions: tuple[Direction, ...],
) -> list[dict[str, Any]] | None:
    """The rules (SDK shape) this call's own request removed that gave the group (alone, as a
    self-referencing set) IPsec coverage in `directions`: [] when it removed none, None when the
    event cannot tell.

    ModifySecurityGroupRules is always None: its request carries the rules' new definitions,
    never what they were before (an IPsec rule may have been rewritten into anything).
    """
    if event_name not in ("RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress") or not group_id:
        return None
    revoked = _items(response.get("revokedSecurityGroupRuleSet"))
    if revoked:
        permissions = [_revoked_rule_permission(rule) for rule in revoked]
    else:
        permissions = [_permission(item) for item in _items(request.get("ipPermissions"))]
    if not permissions or any(p is None for p in permissions):
        return None  # rule IDs without the response's details, the legacy flat form, omitted
    needs = [need for need in IPSEC_NEEDS if need.direction in directions]
    return [p for p in permissions if p is not None and any(permission_covers(p, n, {group_id}) for n in needs)]


def _items(value: Any) -> list[Any]:
    items = value.get("items") if isinstance(value, dict) else None
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _permission(item: dict[str, Any]) -> dict[str, Any] | None:
    """An ipPermissions item in the SDK's shape, or None if it names a peer group only by name
    (a default-VPC group: we cannot tell whether it is the group itself)."""
    if "ipProtocol" not in item:
        return None
    pairs = _items(item.get("groups"))
    if any(not pair.get("groupId") for pair in pairs):
        return None
    return {
        "IpProtocol": item["ipProtocol"],
        "FromPort": item.get("fromPort"),
        "ToPort": item.get("toPort"),
        "UserIdGroupPairs": [{"GroupId": pair["groupId"]} for pair in pairs],
        "IpRanges": [{"CidrIp": r.get("cidrIp")} for r in _items(item.get("ipRanges"))],
    }


def _revoked_rule_permission(rule: dict[str, Any]) -> dict[str, Any] | None:
    if "ipProtocol" not in rule:
        return None
    return {
        "IpProtocol": rule["ipProtocol"],
        "FromPort": rule.get("fromPort"),
        "ToPort": rule.get("toPort"),
        "UserIdGroupPairs": [{"GroupId": rule["referencedGroupId"]}] if rule.get("referencedGroupId") else [],
        "IpRanges": [{"CidrIp": rule["cidrIpv4"]}] if rule.get("cidrIpv4") else [],
    }


_PROTOCOL = {"17": "udp", "esp": "50", "all": "-1"}


def _rule_key(permission: Mapping[str, Any]) -> tuple[str, int, int]:
    protocol = str(permission.get("IpProtocol", "")).lower()
    low, high = permission.get("FromPort"), permission.get("ToPort")
    return _PROTOCOL.get(protocol, protocol), -1 if low is None else low, -1 if high is None else high


def removed_rule_is_back(group: Mapping[str, Any], event_name: str, removed_rules: Sequence[Mapping[str, Any]]) -> bool:
    """Whether a rule the call removed is in the group again (same protocol, ports and peer)."""
    key = "IpPermissionsEgress" if event_name == "RevokeSecurityGroupEgress" else "IpPermissions"
    present = group.get(key) or ()
    for removed in removed_rules:
        peers = {p.get("GroupId") for p in removed.get("UserIdGroupPairs") or ()} | {
            r.get("CidrIp") for r in removed.get("IpRanges") or ()
        }
        for permission in present:
            if _rule_key(permission) != _rule_key(removed):
                continue
            here = {p.get("GroupId") for p in permission.get("UserIdGroupPairs") or ()} | {
                r.get("CidrIp") for r in permission.get("IpRanges") or ()
            }
            if peers & here:
                return True
    return False
