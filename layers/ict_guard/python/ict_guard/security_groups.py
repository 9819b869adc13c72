"""IPsec rules for encrypted inter-container traffic: coverage (pure) and repair (EC2 calls).

Encrypted traffic between the instances of one job needs UDP 500 (IKE) and IP protocol 50 (ESP),
inbound and outbound, between members of the job's security groups. Groups apply as a union, so
coverage is judged over the job's whole set of groups, and a missing rule is added once, as a
self-referencing rule on one group of the set (every instance of the job is in every group).
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

from ict_guard.errors import error_code
from ict_guard.jobs import MANAGED_TAG, GroupSet

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ec2.type_defs import IpPermissionTypeDef


class Direction(enum.StrEnum):
    INGRESS = "ingress"
    EGRESS = "egress"


@dataclass(frozen=True, order=True)
class RuleNeed:
    """One rule encryption needs: a protocol (and port) in one direction, among the job's groups."""

    direction: Direction
    protocol: str  # "udp" or "50" (ESP), as EC2 reports IpProtocol
    port: int | None  # None: the protocol has no ports (ESP)

    def describe(self) -> str:
        what = f"UDP {self.port}" if self.protocol == "udp" else "ESP (IP protocol 50)"
        return f"{self.direction} {what}"


IPSEC_NEEDS: tuple[RuleNeed, ...] = tuple(
    RuleNeed(direction, protocol, port) for direction in Direction for protocol, port in (("udp", 500), ("50", None))
)
_ANYWHERE = "0.0.0.0/0"
_PROTOCOL_ALIASES = {"udp": {"udp", "17"}, "50": {"50", "esp"}}


def _permission_covers(permission: Mapping[str, Any], need: RuleNeed, members: Collection[str]) -> bool:
    protocol = str(permission.get("IpProtocol", "")).lower()
    if protocol != "-1":
        if protocol not in _PROTOCOL_ALIASES[need.protocol]:
            return False
        if need.port is not None:
            low, high = permission.get("FromPort"), permission.get("ToPort")
            # -1 / absent ports mean "all ports" for a protocol given by name or number.
            if low not in (None, -1) and high not in (None, -1) and not low <= need.port <= high:
                return False
    # The peer must include every instance of the job: a group of the set, or anywhere.
    if any(pair.get("GroupId") in members for pair in permission.get("UserIdGroupPairs") or ()):
        return True
    return any(r.get("CidrIp") == _ANYWHERE for r in permission.get("IpRanges") or ())


def permission_covers(permission: Mapping[str, Any], need: RuleNeed, members: Collection[str]) -> bool:
    """Whether one rule (SDK shape) covers `need` for instances in the groups `members`."""
    return _permission_covers(permission, need, members)


def missing_ipsec_rules(groups: Iterable[Mapping[str, Any]], job_group_ids: Collection[str]) -> list[RuleNeed]:
    """Needs that no rule of any of the job's groups covers (groups as DescribeSecurityGroups
    returns them)."""
    members = set(job_group_ids)
    permissions: dict[Direction, list[Mapping[str, Any]]] = {d: [] for d in Direction}
    for group in groups:
        if group.get("GroupId") not in members:
            continue
        permissions[Direction.INGRESS].extend(group.get("IpPermissions") or ())
        permissions[Direction.EGRESS].extend(group.get("IpPermissionsEgress") or ())
    return [
        need
        for need in IPSEC_NEEDS
        if not any(_permission_covers(p, need, members) for p in permissions[need.direction])
    ]


def self_referencing_permission(group_id: str, need: RuleNeed) -> IpPermissionTypeDef:
    """The IpPermissions entry that adds `need` on `group_id` with the group itself as peer."""
    # EC2 ignores ports for protocol 50; -1 is accepted by EC2 and required by moto.
    low, high = (need.port, need.port) if need.port is not None else (-1, -1)
    return {
        "IpProtocol": need.protocol,
        "FromPort": low,
        "ToPort": high,
        "UserIdGroupPairs": [{"GroupId": group_id, "Description": "sagemaker-ict-guard: encrypted inter-container"}],
    }


@dataclass
class RepairResult:
    group_ids: tuple[str, ...]
    added: list[tuple[str, RuleNeed]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # Rules EC2 said were already there when the guard added them (InvalidPermission.Duplicate):
    # the guard's own earlier attempt whose answer was lost, or someone else meanwhile. Not
    # reported as added, but their group is the one the job relies on for them: it is managed.
    found: list[tuple[str, RuleNeed]] = field(default_factory=list)

    @property
    def changed_groups(self) -> list[str]:
        return sorted({group_id for group_id, _ in self.added})

    @property
    def managed_groups(self) -> list[str]:
        """Groups that hold an IPsec rule the job needs because of this repair (tagged managed)."""
        return sorted({group_id for group_id, _ in [*self.added, *self.found]})

    def summary(self) -> list[dict[str, Any]]:
        return [
            {"group_id": g, "direction": n.direction.value, "protocol": n.protocol, "port": n.port}
            for g, n in self.added
        ]


# Codes after which another group of the set may still take the rule.
_GROUP_FULL = {"RulesPerSecurityGroupLimitExceeded"}
_GROUP_GONE = {"InvalidGroup.NotFound", "InvalidGroupId.NotFound", "InvalidGroupId.Malformed"}
# IAM refused the change: the group's VPC is outside RepairVpcIds (condition ec2:Vpc on the
# role). Permanent until a person widens the parameter: reported, never retried.
_NOT_PERMITTED = {"UnauthorizedOperation"}
_SUBNET_GONE = {"InvalidSubnetID.NotFound", "InvalidSubnetID.Malformed"}


def groups_outside_vpc(groups: Iterable[Mapping[str, Any]], vpc_id: str) -> list[str]:
    """IDs of the groups (as DescribeSecurityGroups returns them) that are not in `vpc_id`."""
    return sorted(str(g.get("GroupId")) for g in groups if g.get("VpcId") != vpc_id)


class GroupRepairs(Protocol):
    """What the job guard needs of a job's security groups: `SecurityGroupRepairer`, or an
    in-memory fake in tests."""

    def repair(self, group_ids: Sequence[str]) -> RepairResult: ...


class SecurityGroupRepairer:
    """Adds the missing IPsec rules to a job's groups; never removes or changes a rule."""

    def __init__(self, ec2: EC2Client) -> None:
        self._ec2 = ec2

    def missing(self, group_ids: Sequence[str]) -> list[RuleNeed]:
        groups = self._ec2.describe_security_groups(GroupIds=list(group_ids))["SecurityGroups"]
        return missing_ipsec_rules(groups, group_ids)

    def repair(self, group_ids: Sequence[str], subnet_ids: Sequence[str] | None = None) -> RepairResult:
        """Add the missing rules to the job's groups, all of which must be in the job's VPC.

        The VPC is the one of the job's subnets (`subnet_ids`, or those a `GroupSet` carries from
        the same VpcConfig). A group outside it is never changed: the whole set is reported as a
        problem (SageMaker runs a job only with groups of its subnets' VPC, so such a set is a
        mistake or a forged request, not something to repair). Without subnets (a caller that
        does not know them) the groups are not checked against a VPC.
        """
        result = RepairResult(tuple(group_ids))
        if not group_ids:
            return result
        if subnet_ids is None and isinstance(group_ids, GroupSet):
            subnet_ids = group_ids.subnet_ids
        try:
            groups = self._ec2.describe_security_groups(GroupIds=list(group_ids))["SecurityGroups"]
        except ClientError as exc:
            if error_code(exc) not in _GROUP_GONE:
                raise
            result.problems.append(
                f"security group(s) {', '.join(group_ids)} not found ({error_code(exc)}); the job cannot run with them"
            )
            return result
        if subnet_ids and not self._all_in_job_vpc(groups, subnet_ids, result):
            return result
        needs = missing_ipsec_rules(groups, group_ids)
        self._add_needs(needs, list(group_ids), result)
        for group_id in result.managed_groups:
            self._ec2.create_tags(Resources=[group_id], Tags=[{"Key": MANAGED_TAG, "Value": "true"}])
        return result

    def _all_in_job_vpc(
        self, groups: Sequence[Mapping[str, Any]], subnet_ids: Sequence[str], result: RepairResult
    ) -> bool:
        try:
            subnets = self._ec2.describe_subnets(SubnetIds=list(subnet_ids))["Subnets"]
        except ClientError as exc:
            if error_code(exc) not in _SUBNET_GONE:
                raise
            result.problems.append(
                f"subnet(s) {', '.join(subnet_ids)} not found ({error_code(exc)}): the job's VPC "
                "is unknown, so its security groups were not changed"
            )
            return False
        vpcs = sorted({str(s.get("VpcId")) for s in subnets})
        if len(vpcs) != 1:
            result.problems.append(
                f"the job's subnets {', '.join(subnet_ids)} are in {len(vpcs)} VPCs ({', '.join(vpcs)}): "
                "its security groups were not changed"
            )
            return False
        outside = groups_outside_vpc(groups, vpcs[0])
        if outside:
            result.problems.append(
                f"security group(s) {', '.join(outside)} are not in the job's VPC {vpcs[0]} (the VPC "
                "of its subnets): the guard changes no group outside the job's VPC, so none of the "
                "job's groups was changed"
            )
            return False
        return True

    def add(self, group_ids: Sequence[str], needs: Sequence[RuleNeed]) -> RepairResult:
        """Add `needs`, already known to be missing, as self-referencing rules on one group of
        `group_ids` each; no describe and no tags (the security-group guard restores groups that
        already carry the managed tag)."""
        result = RepairResult(tuple(group_ids))
        if group_ids:
            self._add_needs(needs, list(group_ids), result)
        return result

    def _add_needs(self, needs: Sequence[RuleNeed], candidates: list[str], result: RepairResult) -> None:
        for direction in Direction:
            wanted = [n for n in needs if n.direction is direction]
            if wanted:
                self._add(direction, wanted, candidates, result)

    def _add(self, direction: Direction, needs: list[RuleNeed], candidates: list[str], result: RepairResult) -> None:
        authorize = (
            self._ec2.authorize_security_group_ingress
            if direction is Direction.INGRESS
            else self._ec2.authorize_security_group_egress
        )
        for need in needs:
            failures: list[str] = []
            for group_id in candidates:
                try:
                    authorize(
                        GroupId=group_id,
                        IpPermissions=[self_referencing_permission(group_id, need)],
                    )
                except ClientError as exc:
                    code = error_code(exc)
                    if code == "InvalidPermission.Duplicate":
                        # Covered now: by this guard's own earlier attempt whose answer was lost
                        # (botocore's retry meets it), or by someone meanwhile.
                        result.found.append((group_id, need))
                        break
                    if code in _GROUP_FULL or code in _GROUP_GONE:
                        failures.append(f"{group_id}: {code}")
                        continue  # the same rule on another group of the set works as well
                    if code in _NOT_PERMITTED:
                        failures.append(f"{group_id}: {code} (is its VPC outside the stack's RepairVpcIds?)")
                        continue
                    raise
                result.added.append((group_id, need))
                break
            else:
                result.problems.append(f"cannot add {need.describe()}: {'; '.join(failures)}")
