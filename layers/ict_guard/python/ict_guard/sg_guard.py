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

Who is named. The restore is attributed to the event whose own request removed IPsec coverage
(rule_changes.removed_ipsec_rules). Two calls close together (an SSH rule, then the UDP 500
rule) reach the guard in any order, and the first event handled already sees the second's gap.
An event whose request removed no IPsec rule still restores what is missing — the choice here:
the event of the call that did it may be lost, late or dead-lettered, and encrypted jobs in the
group hang meanwhile — but its alert names nobody and links no CloudTrail event: it says the rules
were removed by another call. The culprit's own event then finds the group intact and, because
its request did remove IPsec rules and one of them is back, sends the alert that names its caller
and its event ("already-restored"); a removed rule that is not back, in a group another rule
still covers, was redundant and needs nobody. So a lost event never leaves a gap, and the person who removed the rule is
named whenever their event arrives. When the event cannot tell (ModifySecurityGroupRules, a revoke
by rule ID without the response's details) the guard names the caller as the one whose call the
gap followed, as before.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ict_guard.alerts import SECURITY_GROUP, Alert, AlertAction
from ict_guard.errors import SecurityGroupGone, is_security_group_not_found
from ict_guard.intake import admit
from ict_guard.jobs import MANAGED_TAG
from ict_guard.outcomes import Outcome, Result, outcome_for
from ict_guard.rule_changes import parse_rule_change, removed_rule_is_back
from ict_guard.run_once import Idempotency, RunOnce
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
    from mypy_boto3_ec2.type_defs import SecurityGroupTypeDef

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
    return [need for need in missing_ipsec_rules([group], [group["GroupId"]]) if need.direction in directions]


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
    # The IPsec-covering rules this request removed, SDK shape (None: the event cannot tell).
    ipsec_rules_removed: list[dict[str, Any]] | None = None

    @property
    def removes_ipsec(self) -> bool | None:
        return None if self.ipsec_rules_removed is None else bool(self.ipsec_rules_removed)

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
        idempotency: Idempotency | None = None,
    ) -> None:
        self._settings = settings
        self._ec2 = ec2
        self._repairer = repairer
        self._reporter = reporter
        self._logger = logger
        self._region = region
        # Per event: a later removal on the same group is new work.
        self.run_once = RunOnce(
            self._restore, argument="change", idempotency=idempotency, reporter=reporter, logger=logger
        )

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
            ipsec_rules_removed=change.ipsec_rules_removed,
        )
        return self.run_once(asdict(ref), key=ref.key, subject=change.group)

    # -- decision and action ----------------------------------------------------------------------

    def _restore(self, change: dict[str, Any]) -> dict[str, Any]:
        ref = GroupChangeRef.from_dict(change)
        try:
            group = self._describe(ref)
        except SecurityGroupGone as exc:
            outcome = outcome_for(exc)  # NOT_FOUND (outcomes.EXCEPTION_OUTCOMES)
            self._logger.info("security group not found; nothing to do")
            self._count("SecurityGroupsNotFound")
            return _result(outcome or Outcome.NOT_FOUND, ref.group_id or ref.group_name)
        group_id = group["GroupId"]
        if not is_managed(group):
            # Never managed, or released by a person who removed the tag: not ours to touch.
            self._logger.info("security group is not managed by the guard; left alone")
            self._count("UnmanagedGroupEvents")
            return _result(Outcome.NOT_MANAGED, group_id)
        needs = needs_to_restore(group, {Direction(d) for d in ref.directions})
        removed = ref.ipsec_rules_removed or []
        if not needs and removed and removed_rule_is_back(group, ref.event_name, removed):
            # This call removed IPsec rules, and they are back: restored while the guard handled
            # another event that saw the gap first (or re-added by someone). Name the caller now.
            # (A removed rule that is not back, in a group still covered by another rule, was
            # redundant: nothing happened that needs a person.)
            self._logger.info("this call removed IPsec rules; they were already restored")
            self._count("RemovalsAlreadyRestored")
            alert = self._attribution_alert(ref, group_id)
            self._publish(alert)
            return _result(Outcome.ALREADY_RESTORED, group_id, alert=alert.action.value)
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
            self._logger.warning("security group not fully restored", extra={"problems": result.problems})
        if not result.added and not result.problems:
            # Every missing rule was there by the time it was added (InvalidPermission.Duplicate):
            # somebody else added it meanwhile, or this run did and the answer was lost (botocore's
            # retry then meets its own rule). Either way the rules this call removed are back:
            # name the caller as the already-restored path does, unless the call removed none.
            if ref.removes_ipsec is False:
                return _result(Outcome.INTACT, group_id)
            self._count("RemovalsAlreadyRestored")
            alert = self._attribution_alert(ref, group_id)
            self._publish(alert)
            return _result(Outcome.ALREADY_RESTORED, group_id, alert=alert.action.value)
        alert = self._alert(ref, group_id, result)
        self._publish(alert)
        return _result(
            Outcome.RESTORED if result.added else Outcome.RESTORE_FAILED,
            group_id,
            rules_added=len(result.added),
            problems=result.problems,
            alert=alert.action.value,
        )

    def _describe(self, ref: GroupChangeRef) -> SecurityGroupTypeDef:
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
        other_call = ref.removes_ipsec is False
        if other_call:
            # Not this caller: their request removed no IPsec rule (see the module docstring).
            reason = (
                f"IPsec rules the managed group needs were already missing when the guard handled "
                f"{ref.event_name} event {ref.event_id}, whose request removed none of them: another "
                f"call removed them (its own event names the caller; look in CloudTrail for "
                f"RevokeSecurityGroupIngress/Egress or ModifySecurityGroupRules on {group_id})"
            )
        else:
            reason = f"{ref.event_name} by {who} left the managed group without IPsec rules it needs"
        if not result.added:
            reason += "; the guard could not add them back"
        return Alert(
            action=action,
            resource_type=SECURITY_GROUP,
            name=group_id,
            arn=self._group_arn(ref, group_id),
            account=ref.account,
            region=ref.region,
            event_id=ref.event_id,
            reason=reason,
            mode=self._settings.mode.value,
            initiated_by=None if other_call else ref.changed_by,
            initiator_note=(
                "unknown: another call, not the one this alert was raised on (see Why)" if other_call else None
            ),
            security_groups=result.changed_groups,
            rules_added=result.summary(),
            problems=list(result.problems),
            steps_done=[f"added {need.describe()} to {g}" for g, need in result.added],
        )

    def _attribution_alert(self, ref: GroupChangeRef, group_id: str) -> Alert:
        who = ref.changed_by or "an unknown caller"
        return Alert(
            action=AlertAction.SECURITY_GROUPS_RESTORED,
            resource_type=SECURITY_GROUP,
            name=group_id,
            arn=self._group_arn(ref, group_id),
            account=ref.account,
            region=ref.region,
            event_id=ref.event_id,
            reason=(
                f"{ref.event_name} by {who} removed IPsec rules the managed group needs; they "
                f"were back when the guard handled this event (restored while it handled an "
                f"earlier event that saw the gap, or re-added by someone)"
            ),
            mode=self._settings.mode.value,
            initiated_by=ref.changed_by,
            security_groups=[group_id],
        )

    @staticmethod
    def _group_arn(ref: GroupChangeRef, group_id: str) -> str:
        return f"arn:{_partition(ref.region)}:ec2:{ref.region}:{ref.account}:security-group/{group_id}"

    def _publish(self, alert: Alert) -> None:
        self._reporter.publish(alert)

    def _count(self, name: str, value: int = 1) -> None:
        self._reporter.count(name, value)


def _result(outcome: Outcome, group: str | None, **details: Any) -> dict[str, Any]:
    return Result(outcome, group, subject_key="group", details=details).as_dict()
