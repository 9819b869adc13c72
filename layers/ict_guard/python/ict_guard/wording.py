"""What an alert says, per kind of resource: one object for SageMaker jobs, one for security
groups, chosen by `wording_for`. The e-mail text (alerts.py), the chat card (chat.py) and the
Security Hub finding (findings.py) all take their sentences from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ict_guard.alert_actions import SECURITY_GROUP, AlertAction, console_url, kind_label
from ict_guard.jobs import MANAGED_TAG

if TYPE_CHECKING:
    from ict_guard.alerts import Alert

_FLAG = "EnableInterContainerTrafficEncryption=True (SageMaker Python SDK: encrypt_inter_container_traffic=True)"

# The first line of the e-mail and the chat card: the action, then the resource ({what}).
_HEADLINE = {
    AlertAction.STOPPED: "Stopped {what}: it ran without inter-container traffic encryption",
    AlertAction.RELAUNCHED: "Re-launched {what} with encryption; the unencrypted run is stopped",
    AlertAction.ENCRYPTED_IN_PLACE: "Turned encryption on in {what}: its next runs are encrypted",
    AlertAction.NOTIFIED: "Found {what} without inter-container traffic encryption (alert only)",
    AlertAction.SECURITY_GROUPS_REPAIRED: "Added the IPsec rules {what} needs to its security groups",
    AlertAction.SECURITY_GROUPS_RESTORED: "Restored the IPsec rules on {what}",
    AlertAction.FAILED: "REMEDIATION FAILED for {what}",
}


class JobWording:
    """Alerts about a SageMaker training or tuning job."""

    who_label = "Started by:"
    link_label = "Job"

    def headline(self, alert: Alert) -> str:
        text = _HEADLINE[alert.action].format(what=f"{kind_label(alert.resource_type)} {alert.name}")
        return f"ACTION NEEDED: {text}" if alert.action_needed and alert.action is not AlertAction.FAILED else text

    def what_happened(self, alert: Alert) -> str:
        what = f"{kind_label(alert.resource_type)} {alert.name}"
        count = f" on {alert.instance_count} instances" if alert.instance_count else ""
        if alert.action is AlertAction.SECURITY_GROUPS_REPAIRED or alert.encrypted:
            return (
                f"{what} runs{count} with encryption on, but its security groups did not allow "
                "the IPsec traffic (UDP 500, IP protocol 50) that encryption needs."
            )
        return f"{what} was started{count} without inter-container traffic encryption."

    def what_was_done(self, alert: Alert) -> str:
        match alert.action:
            case AlertAction.RELAUNCHED:
                return f"stopped it and re-launched an encrypted copy named {alert.relaunched_as}."
            case AlertAction.ENCRYPTED_IN_PLACE if alert.relaunched_as:
                return (
                    f"made an encrypted copy {alert.relaunched_as} of the job definition it ran (job definitions "
                    "cannot be changed), pointed it at the copy, and stopped its running execution if any; the "
                    "old definition is tagged, not deleted."
                )
            case AlertAction.ENCRYPTED_IN_PLACE:
                return "updated it with encryption on, and stopped its running execution if any."
            case AlertAction.STOPPED:
                if alert.action_needed:
                    return "stopped it; it cannot be re-launched by the guard (see Why)."
                return "stopped it (remediation mode: stop)."
            case AlertAction.SECURITY_GROUPS_REPAIRED:
                return f"added the missing IPsec rules to {', '.join(alert.security_groups)}."
            case AlertAction.FAILED:
                done = "; ".join(alert.steps_done) or "nothing"
                return f"remediation did not finish. Done so far: {done}."
        if alert.action_needed:
            return "nothing: it is left running, because the guard cannot re-launch it (see Why)."
        return "nothing (alert only)."

    def next_step(self, alert: Alert) -> str:
        if alert.resource_type == "monitoring-schedule":
            return self._schedule_next_step(alert)
        match alert.action:
            case AlertAction.RELAUNCHED:
                return f"nothing for this job: the encrypted copy carries on. Start the next one with {_FLAG}."
            case AlertAction.STOPPED:
                return f"start the job again with {_FLAG}."
            case AlertAction.SECURITY_GROUPS_REPAIRED:
                return "nothing; the job keeps running."
            case AlertAction.FAILED if alert.action_needed:
                return (
                    "start the job again with encryption yourself: the request below (and the "
                    "command) is what the guard sent; change what SageMaker refused. The guard "
                    "will not retry it."
                )
            case AlertAction.FAILED:
                return (
                    "Lambda retries the remediation by itself; if the dead-letter-queue alarm "
                    "fires, finish the steps listed under 'Not done yet' by hand."
                )
        if alert.action_needed:
            return f"stop the job and start it again with {_FLAG} the way it was started (see Why)."
        return f"stop the job and start it again with {_FLAG}, or exempt it if it is meant to run unencrypted."

    @staticmethod
    def _schedule_next_step(alert: Alert) -> str:
        """A schedule is changed, not started again: UpdateMonitoringSchedule (a job definition
        it runs cannot be changed: a new one, encrypted, and the schedule pointed at it)."""
        fix = (
            f"turn encryption on in the schedule (UpdateMonitoringSchedule with NetworkConfig.{_FLAG.split(' (')[0]} "
            "in its MonitoringJobDefinition; for a schedule that runs a job definition, create a new definition "
            "with it and point the schedule at that one)"
        )
        match alert.action:
            case AlertAction.ENCRYPTED_IN_PLACE:
                return (
                    "nothing for this schedule. Make the change in its source too (infrastructure as code, "
                    f"notebook), or the next deployment turns encryption off again: NetworkConfig.{_FLAG}."
                )
            case AlertAction.STOPPED:
                return f"{fix}, then StartMonitoringSchedule."
            case AlertAction.SECURITY_GROUPS_REPAIRED:
                return "nothing; the schedule keeps running."
            case AlertAction.FAILED if alert.action_needed:
                return (
                    "send the request below yourself (the command is ready); change what SageMaker refused. "
                    "The guard will not retry it."
                )
            case AlertAction.FAILED:
                return (
                    "Lambda retries the remediation by itself; if the dead-letter-queue alarm fires, finish the "
                    "steps listed under 'Not done yet' by hand."
                )
        return f"{fix}, or exempt the schedule if it is meant to run unencrypted."

    def footer(self, alert: Alert) -> list[str]:
        if not alert.exempt_tag_key:
            return []
        return [
            f"To exempt a job (alerted on, never stopped or re-launched), tag it "
            f"{alert.exempt_tag_key}=true when you create it."
        ]

    def copy_link(self, alert: Alert) -> str | None:
        return console_url(alert.region, alert.resource_type, alert.relaunched_as) if alert.relaunched_as else None


class SecurityGroupWording:
    """Alerts of the security-group guard: about who changed a group the guard manages."""

    who_label = "Changed by:"
    link_label = "Security group"

    def headline(self, alert: Alert) -> str:
        return _HEADLINE[alert.action].format(what=f"{kind_label(alert.resource_type)} {alert.name}")

    def what_happened(self, alert: Alert) -> str:
        return (
            f"IPsec rules that encrypted jobs need were removed from or changed on {alert.name}; "
            f"the group carries {MANAGED_TAG}=true, so the guard keeps them."
        )

    def what_was_done(self, alert: Alert) -> str:
        if alert.action is AlertAction.SECURITY_GROUPS_RESTORED:
            return f"re-added the missing self-referencing IPsec rules to {alert.name}."
        done = "; ".join(alert.steps_done) or "nothing"
        return f"remediation did not finish. Done so far: {done}."

    def next_step(self, alert: Alert) -> str:
        if alert.action is AlertAction.FAILED:
            return (
                f"add the self-referencing IPsec rules (UDP 500 and IP protocol 50, in and out) "
                f"to {alert.name} by hand; encrypted jobs using it cannot communicate until then."
            )
        return (
            "nothing urgent; if the rules keep disappearing, find the tool that removes them "
            "(infrastructure as code drift, a compliance rule)."
        )

    def footer(self, alert: Alert) -> list[str]:
        return [f"To release the group (the guard stops restoring its rules), remove its tag {MANAGED_TAG}."]

    def copy_link(self, alert: Alert) -> str | None:
        return None


Wording = JobWording | SecurityGroupWording
_JOB, _GROUP = JobWording(), SecurityGroupWording()


def wording_for(resource_type: str) -> Wording:
    return _GROUP if resource_type == SECURITY_GROUP else _JOB
