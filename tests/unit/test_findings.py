"""Security Hub findings of non-compliant jobs: which alerts make one, the ASFF document (checked
against botocore's model of BatchImportFindings), and the import/resolve calls over a fake."""

from __future__ import annotations

import datetime as dt
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.validate import ParamValidator
from test_alerts import alert

from ict_guard import findings
from ict_guard.alerts import SECURITY_GROUP, AlertAction
from ict_guard.findings import SecurityHubFindings, build_finding, is_job_finding

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 11, 26, 17, 5, 12, 345000, tzinfo=dt.UTC)
MODEL = botocore.session.get_session().get_service_model("securityhub")


def _validate(operation: str, params: dict[str, Any]) -> None:
    report = ParamValidator().validate(params, MODEL.operation_model(operation).input_shape)
    assert not report.has_errors(), report.generate_report()


def unencrypted(**overrides: Any):
    return alert(**{"encrypted": False, "event_id": "afe01087-0b66-4bd3-875c-9422c1267cd3", **overrides})


@pytest.mark.parametrize(
    ("overrides", "makes_finding"),
    [
        ({"action": AlertAction.NOTIFIED}, True),
        ({"action": AlertAction.FAILED}, True),
        ({"action": AlertAction.STOPPED}, True),
        ({"action": AlertAction.RELAUNCHED}, True),
        # Encrypted jobs: a repair, or a repair that failed, is not a non-compliant job.
        ({"action": AlertAction.SECURITY_GROUPS_REPAIRED, "encrypted": True}, False),
        ({"action": AlertAction.FAILED, "encrypted": True}, False),
        # Exempt single-instance jobs are alerted on, but encryption has no effect on them.
        ({"action": AlertAction.NOTIFIED, "instance_count": 1}, False),
        ({"action": AlertAction.SECURITY_GROUPS_RESTORED, "resource_type": SECURITY_GROUP, "encrypted": None}, False),
        # Not known to be unencrypted (an alert built without the job's facts).
        ({"action": AlertAction.NOTIFIED, "encrypted": None}, False),
    ],
)
def test_which_alerts_make_a_finding(overrides, makes_finding):
    assert is_job_finding(unencrypted(**overrides), min_instance_count=2) is makes_finding


def test_the_finding_is_valid_asff_with_every_required_attribute():
    finding = build_finding(unencrypted(), NOW)
    _validate("BatchImportFindings", {"Findings": [finding]})
    # Required by the botocore model, plus Severity and Types, which Security Hub also requires.
    required = set(MODEL.shape_for("AwsSecurityFinding").required_members) | {"Severity", "Types"}
    assert required <= set(finding)
    assert finding["SchemaVersion"] == "2018-10-08"
    assert finding["ProductArn"] == "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default"
    assert finding["AwsAccountId"] == "123456789012"
    assert finding["CreatedAt"] == finding["UpdatedAt"] == "2026-11-26T17:05:12.345Z"
    assert finding["Types"] == ["Software and Configuration Checks/AWS Security Best Practices"]
    assert finding["FindingProviderFields"] == {
        "Severity": {"Label": "HIGH", "Original": "HIGH"},
        "Types": finding["Types"],
    }
    (resource,) = finding["Resources"]
    assert resource["Type"] == "Other"
    assert resource["Id"] == "arn:aws:sagemaker:us-east-1:123456789012:training-job/train-1"
    assert resource["Details"]["Other"]["RelaunchedAs"] == "train-1-enc-abcdef"
    assert finding["Remediation"]["Recommendation"]["Url"] == findings.RECOMMENDATION_URL
    assert finding["SourceUrl"].endswith("#/jobs/train-1")
    assert "alice" in finding["Description"]


def test_one_finding_per_job_whatever_happens_to_it():
    ids = {
        build_finding(unencrypted(action=action, name=name), NOW)["Id"]
        for action in (AlertAction.NOTIFIED, AlertAction.FAILED, AlertAction.RELAUNCHED)
        for name in ("train-1", "TRAIN-1")
    }
    assert len(ids) == 1
    assert build_finding(unencrypted(name="train-2"), NOW)["Id"] not in ids
    assert len(next(iter(ids))) <= 512


@pytest.mark.parametrize(
    ("action", "compliance", "record_state"),
    [
        (AlertAction.NOTIFIED, "FAILED", "ACTIVE"),
        (AlertAction.FAILED, "FAILED", "ACTIVE"),
        (AlertAction.STOPPED, "PASSED", "ARCHIVED"),
        (AlertAction.RELAUNCHED, "PASSED", "ARCHIVED"),
    ],
)
def test_compliance_says_whether_the_job_still_runs_unencrypted(action, compliance, record_state):
    finding = build_finding(unencrypted(action=action), NOW)
    assert finding["Compliance"] == {"Status": compliance}
    # A provider closes its own finding by archiving it; the workflow is the customer's.
    assert finding["RecordState"] == record_state and finding["Workflow"] == {"Status": "NEW"}


def test_limits_of_asff_fields_are_respected():
    long = unencrypted(reason="x" * 5000, initiated_by="arn:aws:sts::123456789012:assumed-role/R/" + "s" * 3000)
    finding = build_finding(long, NOW)
    assert len(finding["Title"]) <= 256 and len(finding["Description"]) <= 1024
    assert len(finding["Remediation"]["Recommendation"]["Text"]) <= 512
    assert all(len(v) <= 2048 for v in finding["ProductFields"].values())


def test_other_partitions_get_their_product_and_resource_arns():
    arn = "arn:aws-cn:sagemaker:cn-north-1:123456789012:training-job/train-1"
    finding = build_finding(unencrypted(arn=arn, region="cn-north-1"), NOW)
    assert finding["ProductArn"] == "arn:aws-cn:securityhub:cn-north-1:123456789012:product/123456789012/default"
    assert finding["Resources"][0]["Partition"] == "aws-cn"


class FakeSecurityHub:
    """Only BatchImportFindings: the guard's role has no other Security Hub action, so a call to
    anything else fails here (AttributeError) as it would be denied."""

    def __init__(self, *, failed: int = 0, error: str | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.failed = failed
        self.error = error

    def batch_import_findings(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("import", kwargs))
        if self.error:
            raise ClientError({"Error": {"Code": self.error, "Message": "x"}}, "BatchImportFindings")
        if self.failed:
            return {"FailedCount": 1, "SuccessCount": 0, "FailedFindings": [{"Id": "x", "ErrorCode": "InvalidInput"}]}
        return {"FailedCount": 0, "SuccessCount": 1, "FailedFindings": []}


class FakeMetrics:
    def __init__(self) -> None:
        self.names: list[str] = []

    def add_metric(self, *, name: str, unit: Any, value: float) -> None:
        self.names.append(name)


class FakeLogger:
    def __init__(self) -> None:
        self.errors: list[tuple[str, Any]] = []

    def error(self, message: str, extra: Any = None) -> None:
        self.errors.append((message, extra))


def reporter(hub: FakeSecurityHub):
    metrics, logger = FakeMetrics(), FakeLogger()
    service = SecurityHubFindings(hub, min_instance_count=2, logger=logger, metrics=metrics, clock=lambda: NOW)
    return service, metrics, logger


def test_an_open_finding_is_imported_once_and_left_new():
    hub = FakeSecurityHub()
    service, metrics, _ = reporter(hub)
    assert service.report(unencrypted(action=AlertAction.NOTIFIED)) == "ACTIVE"
    assert [name for name, _ in hub.calls] == ["import"] and metrics.names == []


@pytest.mark.parametrize("action", [AlertAction.RELAUNCHED, AlertAction.STOPPED])
def test_a_fixed_job_is_archived_in_the_same_single_import(action):
    hub = FakeSecurityHub()
    service, metrics, _ = reporter(hub)
    assert service.report(unencrypted(action=action)) == "ARCHIVED"
    ((name, request),) = hub.calls
    assert name == "import" and metrics.names == []
    (finding,) = request["Findings"]
    assert finding["RecordState"] == "ARCHIVED" and finding["Compliance"] == {"Status": "PASSED"}


@pytest.mark.parametrize("hub", [FakeSecurityHub(failed=1), FakeSecurityHub(error="InvalidAccessException")])
def test_security_hub_trouble_is_counted_never_raised(hub):
    service, metrics, logger = reporter(hub)
    assert service.report(unencrypted(action=AlertAction.RELAUNCHED)) is None
    assert [name for name, _ in hub.calls] == ["import"]
    assert metrics.names == [findings.FAILURE_METRIC] and logger.errors


def test_alerts_that_make_no_finding_make_no_call():
    hub = FakeSecurityHub()
    service, metrics, _ = reporter(hub)
    assert service.report(unencrypted(action=AlertAction.SECURITY_GROUPS_REPAIRED, encrypted=True)) is None
    assert hub.calls == [] and metrics.names == []
