"""The security-group guard: keeps the IPsec rules on the groups the service manages.

A rule the job guard added can be removed the next day by someone tidying up, and the next
encrypted job in that group then hangs. This service reacts to the EC2 calls that remove or change
rules (RevokeSecurityGroupIngress/Egress, ModifySecurityGroupRules) and, for a group tagged
`ict-guard:managed=true`, adds back what encryption needs.

Coverage is judged over the changed group ALONE, as a self-referencing set: the guard only ever
adds self-referencing rules to a managed group, and it does not know which jobs (and so which
other groups) will run with it. Only the directions the call could touch are restored
(a RevokeSecurityGroupIngress never makes the guard add outbound rules). Removing the tag
releases the group: from then on the guard leaves it alone, whatever happens to its rules.

AWS calls, in order: DescribeSecurityGroups (the event is only a hint), Authorize* for what is
missing, SNS Publish. None of them is a rule-change call, so the guard never triggers itself.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ict_guard.alerts import SECURITY_GROUP, Alert, AlertAction
from ict_guard.errors import SecurityGroupGone, is_security_group_not_found
from ict_guard.intake import admit
from ict_guard.jobs import MANAGED_TAG
from ict_guard.outcomes import Outcome, Result
from ict_guard.rule_changes import parse_rule_change
from ict_guard.run_once import IdempotencyWrapper, RunOnce
from ict_guard.security_groups import (
    Direction,
    RepairResult,
    RuleNeed,
    SecurityGroupRepairer,
    missing_ipsec_rules,
)
from ict_guard.settings import Settings

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger
    from mypy_boto3_ec2 import EC2Client

    from ict_guard.reporting import Reporter


# -- pure decisions -------------------------------------------------------------------------------


def is_managed(group: Mapping[str, Any]) -> bool:
    """Whether the group carries the managed tag (as DescribeSecurityGroups returns the group)."""
    return any(
        tag.get("Key") == MANAGED_TAG and str(tag.get("Value", "")).strip().lower() == "true"
        for tag in group.get("Tags") or ()
    )


def needs_to_restore(group: Mapping[str, Any], directions: Collection[Direction]) -> list[RuleNeed]:
    """What a managed group misses, judged alone as a self-referencing set, in `directions`."""
    return [
        need
        for need in missing_ipsec_rules([group], [group["GroupId"]])
        if need.direction in directions
    ]


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


# -- the service ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupChangeRef:
    """What the event says about the change; the idempotency key is `key`."""

    key: str
    event_id: str
    event_name: str
    group_id: str | None
    group_name: str | None
    account: str
    region: str
    changed_by: str | None
    directions: tuple[str, ...]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GroupChangeRef:
        return cls(**{**data, "directions": tuple(data["directions"])})


class SecurityGroupGuard:
    def __init__(
        self,
        *,
        settings: Settings,
        ec2: EC2Client,
        repairer: SecurityGroupRepairer,
        reporter: Reporter,
        logger: Logger,
        region: str,
        idempotent: IdempotencyWrapper | None = None,
    ) -> None:
        self._settings = settings
        self._ec2 = ec2
        self._repairer = repairer
        self._reporter = reporter
        self._logger = logger
        self._region = region
        # Per event: a later removal on the same group is new work.
        self.run_once = RunOnce(self._restore, argument="change", idempotent=idempotent, reporter=reporter, logger=logger)

    def handle(self, event: Any, account: str | None = None) -> dict[str, Any]:
        """Handle one EventBridge event; `account` is the function's own account, if known."""
        change, rejected = admit(
            event, parse_rule_change, logger=self._logger, count=self._count, region=self._region, account=account
        )
        if change is None:
            return rejected or {}

        self._logger.append_keys(security_group=change.group, cloudtrail_event=change.event_name)
        self._count("RuleChangeEventsEvaluated")
        ref = GroupChangeRef(
            # Per event, not per group: a later removal on the same group is a new job to do.
            key=f"sg/{change.group}/{change.event_id}",
            event_id=change.event_id,
            event_name=change.event_name,
            group_id=change.group_id,
            group_name=change.group_name,
            account=change.account,
            region=change.region,
            changed_by=change.changed_by,
            directions=tuple(d.value for d in change.directions),
        )
        return self.run_once(asdict(ref), key=ref.key, subject=change.group)

    # -- decision and action ----------------------------------------------------------------------

    def _restore(self, change: dict[str, Any]) -> dict[str, Any]:
        ref = GroupChangeRef.from_dict(change)
        try:
            group = self._describe(ref)
        except SecurityGroupGone:
            self._logger.info("security group not found; nothing to do")
            self._count("SecurityGroupsNotFound")
            return _result(Outcome.NOT_FOUND, ref.group_id or ref.group_name)
        group_id = group["GroupId"]
        if not is_managed(group):
            # Never managed, or released by a person who removed the tag: not ours to touch.
            self._logger.info("security group is not managed by the guard; left alone")
            self._count("UnmanagedGroupEvents")
            return _result(Outcome.NOT_MANAGED, group_id)
        needs = needs_to_restore(group, {Direction(d) for d in ref.directions})
        if not needs:
            self._logger.info("managed group still allows the IPsec traffic; nothing to restore")
            return _result(Outcome.INTACT, group_id)
        if not self._settings.repair_security_groups:
            self._logger.warning(
                "managed group lost IPsec rules, but REPAIR_SECURITY_GROUPS is false",
                extra={"missing": [n.describe() for n in needs]},
            )
            self._count("SecurityGroupRestoresSkipped")
            return _result(Outcome.REPAIR_DISABLED, group_id)

        result = self._repairer.add([group_id], needs)
        if result.added:
            self._count("SecurityGroupRulesRestored", len(result.added))
            self._count("SecurityGroupsRestored")
        if result.problems:
            self._count("SecurityGroupRepairProblems", len(result.problems))
            self._logger.warning(
                "security group not fully restored", extra={"problems": result.problems}
            )
        if not result.added and not result.problems:
            # Every rule came back meanwhile (InvalidPermission.Duplicate): somebody else did it.
            return _result(Outcome.INTACT, group_id)
        alert = self._alert(ref, group_id, result)
        self._publish(alert)
        return _result(
            Outcome.RESTORED if result.added else Outcome.RESTORE_FAILED,
            group_id,
            rules_added=len(result.added),
            problems=result.problems,
            alert=alert.action.value,
        )

    def _describe(self, ref: GroupChangeRef) -> dict[str, Any]:
        query = {"GroupIds": [ref.group_id]} if ref.group_id else {"GroupNames": [ref.group_name]}
        try:
            groups = self._ec2.describe_security_groups(**query)["SecurityGroups"]
        except ClientError as exc:
            if is_security_group_not_found(exc):
                raise SecurityGroupGone(ref.group_id or ref.group_name) from exc
            raise
        wanted = [g for g in groups if not ref.group_id or g.get("GroupId") == ref.group_id]
        if len(wanted) != 1:
            raise SecurityGroupGone(ref.group_id or ref.group_name)
        return wanted[0]

    # -- alerts and metrics -----------------------------------------------------------------------

    def _alert(self, ref: GroupChangeRef, group_id: str, result: RepairResult) -> Alert:
        action = AlertAction.SECURITY_GROUPS_RESTORED if result.added else AlertAction.FAILED
        who = ref.changed_by or "an unknown caller"
        reason = f"{ref.event_name} by {who} left the managed group without IPsec rules it needs"
        if not result.added:
            reason += "; the guard could not add them back"
        partition = _partition(ref.region)
        arn = f"arn:{partition}:ec2:{ref.region}:{ref.account}:security-group/{group_id}"
        return Alert(
            action=action,
            resource_type=SECURITY_GROUP,
            name=group_id,
            arn=arn,
            account=ref.account,
            region=ref.region,
            event_id=ref.event_id,
            reason=reason,
            mode=self._settings.mode.value,
            initiated_by=ref.changed_by,
            security_groups=result.changed_groups,
            rules_added=result.summary(),
            problems=list(result.problems),
            steps_done=[f"added {need.describe()} to {g}" for g, need in result.added],
        )

    def _publish(self, alert: Alert) -> None:
        self._reporter.publish(alert)

    def _count(self, name: str, value: int = 1) -> None:
        self._reporter.count(name, value)


def _result(outcome: Outcome, group: str | None, **details: Any) -> dict[str, Any]:
    return Result(outcome, group, subject_key="group", details=details).as_dict()
