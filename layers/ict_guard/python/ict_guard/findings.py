"""AWS Security Hub findings (ASFF) for jobs that run without inter-container traffic encryption.

Security Hub has no control for training or tuning jobs, so the guard is the finding provider:
one finding per job (a stable `Id`, so every later import updates the same finding), imported
into the account's own custom product `product/<account>/default` whenever the guard alerts about
a non-compliant job:

  notified, failed     Compliance FAILED, RecordState ACTIVE, Workflow NEW (set on creation
                       only): a person acts
  stopped, relaunched  Compliance PASSED (the job no longer runs unencrypted) and RecordState
                       ARCHIVED: the provider closes its own finding, in the same import

AWS facts this rests on (Security Hub API reference, BatchImportFindings and the Workflow object;
Security Hub User Guide, "BatchImportFindings for finding providers"):
- A finding provider creates and updates its own findings with BatchImportFindings only; finding
  providers can't update findings that they didn't create. BatchUpdateFindings is the customers'
  (SIEM, ticketing, SOAR) call, authorized on the hub: granting it would let the guard change
  every product's findings, so the guard does not use it and its role lacks it.
- After creation, BatchImportFindings cannot change Note, UserDefinedFields, VerificationState
  or Workflow; providers set Severity and Types through FindingProviderFields. So the guard never
  moves the workflow to RESOLVED (that stays a person's decision); it archives the finding, which
  is how a provider says a finding no longer applies.
- Security Hub resets a RESOLVED or NOTIFIED workflow to NEW when the record state changes from
  ARCHIVED to ACTIVE or the compliance status from PASSED to FAILED: a job that becomes
  non-compliant again reopens its finding by itself.
- With the default product ARN, the caller's account must be the finding's AwsAccountId.
- There is no ASFF resource type for SageMaker training or tuning jobs (only
  AwsSageMakerNotebookInstance), so the resource is `Other`, identified by the job's ARN.

Security Hub is a second view of what the alert already says: a failure here is logged and
counted (`FindingsDeliveryFailures`), never raised, so it cannot undo or repeat a remediation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from ict_guard.alerts import SECURITY_GROUP, Alert, AlertAction, console_url, kind_label

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics
    from mypy_boto3_securityhub import SecurityHubClient
    from mypy_boto3_securityhub.type_defs import AwsSecurityFindingTypeDef

SCHEMA_VERSION = "2018-10-08"
GENERATOR_ID = "sagemaker-ict-guard/inter-container-traffic-encryption"
FINDING_TYPES = ["Software and Configuration Checks/AWS Security Best Practices"]
RECOMMENDATION_URL = "https://docs.aws.amazon.com/sagemaker/latest/dg/train-encrypt.html"
FAILURE_METRIC = "FindingsDeliveryFailures"

# Alerts about a job that ran (or runs) unencrypted; the first two leave it to a person.
OPEN_ACTIONS = frozenset({AlertAction.NOTIFIED, AlertAction.FAILED})
FIXED_ACTIONS = frozenset({AlertAction.STOPPED, AlertAction.RELAUNCHED, AlertAction.ENCRYPTED_IN_PLACE})

# ASFF length limits (AwsSecurityFinding, Note and Recommendation in the API reference).
_TITLE_CHARS = 256
_DESCRIPTION_CHARS = 1024
_RECOMMENDATION_CHARS = 512


def partition_of(alert: Alert) -> str:
    if alert.arn and alert.arn.startswith("arn:"):
        return alert.arn.split(":", 2)[1]
    return "aws"


def product_arn(partition: str, region: str, account: str) -> str:
    """The account's own custom-integration product, which needs no subscription."""
    return f"arn:{partition}:securityhub:{region}:{account}:product/{account}/default"


def finding_id(alert: Alert) -> str:
    # SageMaker job names are unique regardless of case; one finding per job, across retries,
    # duplicates and the sweeper.
    return f"{GENERATOR_ID}/{alert.region}/{alert.account}/{alert.resource_type}/{alert.name.lower()}"


def is_job_finding(alert: Alert, min_instance_count: int) -> bool:
    """Whether the alert is about a job that is non-compliant: unencrypted and distributed.

    Alerts about security groups, about encrypted jobs (repairs, or a repair that failed), and
    about exempt jobs below the minimum instance count make no finding.
    """
    if alert.resource_type == SECURITY_GROUP or alert.encrypted is not False:
        return False
    if alert.action not in OPEN_ACTIONS | FIXED_ACTIONS:
        return False
    return alert.instance_count is None or alert.instance_count >= min_instance_count


def build_finding(alert: Alert, now: dt.datetime) -> dict[str, Any]:
    """The ASFF document of one job (pure: the same alert and time give the same finding)."""
    partition = partition_of(alert)
    timestamp = now.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    fixed = alert.action in FIXED_ACTIONS
    kind = kind_label(alert.resource_type)
    resource_arn = alert.arn or (
        f"arn:{partition}:sagemaker:{alert.region}:{alert.account}:{alert.resource_type}/{alert.name.lower()}"
    )
    description = (
        f"{_sentence(alert.what_happened())} Started by {alert.who()}. "
        f"What the guard did: {alert.what_was_done()} Why: {alert.reason}."
    )
    details = {
        "JobName": alert.name,
        "JobKind": alert.resource_type,
        "GuardAction": alert.action.value,
        "RemediationMode": alert.mode,
    }
    if alert.instance_count is not None:
        details["InstanceCount"] = str(alert.instance_count)
    if alert.initiated_by:
        details["InitiatedBy"] = alert.initiated_by[:1024]
    if alert.relaunched_as:
        details["RelaunchedAs"] = alert.relaunched_as
    product_fields = {f"sagemaker-ict-guard/{key}": value for key, value in details.items()}
    if alert.event_id:
        product_fields["sagemaker-ict-guard/EventId"] = alert.event_id
    return {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding_id(alert),
        "ProductArn": product_arn(partition, alert.region, alert.account),
        "GeneratorId": GENERATOR_ID,
        "AwsAccountId": alert.account,
        "Region": alert.region,
        "Types": FINDING_TYPES,
        "CreatedAt": timestamp,
        "UpdatedAt": timestamp,
        "Severity": {"Label": "HIGH"},
        # Where providers keep Severity and Types once a customer may have changed the top-level
        # ones with BatchUpdateFindings.
        "FindingProviderFields": {
            "Severity": {"Label": "HIGH", "Original": "HIGH"},
            "Types": FINDING_TYPES,
        },
        "Title": f"SageMaker {kind} {alert.name} started without inter-container traffic encryption"[:_TITLE_CHARS],
        "Description": _clip(description, _DESCRIPTION_CHARS),
        "Remediation": {
            "Recommendation": {
                "Text": _clip(
                    "Create distributed training and tuning jobs with "
                    "EnableInterContainerTrafficEncryption=True, and allow UDP 500 and IP protocol "
                    "50 from each job security group to itself, inbound and outbound. "
                    f"This job: {alert.next_step()}",
                    _RECOMMENDATION_CHARS,
                ),
                "Url": RECOMMENDATION_URL,
            }
        },
        "SourceUrl": console_url(alert.region, alert.resource_type, alert.name),
        "ProductFields": product_fields,
        "Resources": [
            {
                "Type": "Other",
                "Id": resource_arn,
                "Partition": partition,
                "Region": alert.region,
                "Details": {"Other": details},
            }
        ],
        "Compliance": {"Status": "PASSED" if fixed else "FAILED"},
        # The provider's way to close its own finding (it cannot set the workflow after
        # creation); importing ACTIVE again reopens it.
        "RecordState": "ARCHIVED" if fixed else "ACTIVE",
        # Honoured when the finding is created; later imports cannot change it.
        "Workflow": {"Status": "NEW"},
    }


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


class SecurityHubFindings:
    """Imports (and, once the guard fixed the job, archives) the Security Hub finding of each
    non-compliant job the guard alerts about. A collaborator of JobGuard, as AlertPublisher is."""

    def __init__(
        self,
        securityhub: SecurityHubClient,
        *,
        min_instance_count: int,
        logger: Logger,
        metrics: Metrics,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._securityhub = securityhub
        self._min_instance_count = min_instance_count
        self._logger = logger
        self._metrics = metrics
        self._clock = clock

    def report(self, alert: Alert) -> str | None:
        """Import the alert's finding, archived when the guard fixed the job; returns the record
        state imported (ACTIVE or ARCHIVED), None when the alert makes no finding or Security Hub
        did not take it."""
        if not is_job_finding(alert, self._min_instance_count):
            return None
        finding = build_finding(alert, self._clock())
        try:
            # An ASFF document; a cast, as its Partition is read from the job's ARN (a str, where
            # the stubs want one of their literal partition names).
            response = self._securityhub.batch_import_findings(Findings=[cast("AwsSecurityFindingTypeDef", finding)])
            if response.get("FailedCount"):
                self._failed("Security Hub rejected the finding", finding, response.get("FailedFindings"))
                return None
            return str(finding["RecordState"])
        except (ClientError, BotoCoreError) as exc:
            # InvalidAccessException: Security Hub is not enabled in this account and region.
            self._failed("could not import the finding", finding, str(exc))
            return None

    def _failed(self, message: str, finding: dict[str, Any], reason: Any) -> None:
        self._logger.error(message, extra={"finding_id": finding["Id"], "reason": reason})
        self._metrics.add_metric(name=FAILURE_METRIC, unit=MetricUnit.Count, value=1)
