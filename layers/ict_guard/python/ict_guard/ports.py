"""The SageMaker calls the job guard makes, behind a small protocol.

`SageMakerJobs` is what the guard's domain needs of SageMaker; `BotoSageMakerJobs` is the one
implementation that calls AWS (through a boto3 client with the retry configuration of aws.py), and
tests pass an in-memory fake (tests/unit/fakes.py). SageMaker's errors become the domain's
exceptions here, by error code, never by message text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from botocore import xform_name
from botocore.exceptions import ClientError

from ict_guard.errors import (
    CapacityHeld,
    CopyRefused,
    DescribedOtherJob,
    JobGone,
    NotStoppable,
    error_code,
    is_sagemaker_describe_not_found,
)
from ict_guard.jobs import JobApi, tags_to_dict

if TYPE_CHECKING:
    from botocore.model import ServiceModel
    from mypy_boto3_sagemaker import SageMakerClient


class SageMakerJobs(Protocol):
    """Describe, tag, stop and create SageMaker jobs of the kinds in `jobs.JOB_APIS`."""

    @property
    def service_model(self) -> ServiceModel: ...

    @property
    def partition(self) -> str:
        """The AWS partition of the client's region (aws, aws-cn, aws-us-gov, ...)."""
        ...

    def describe(self, api: JobApi, name: str) -> dict[str, Any]:
        """Describe* of one job. Raises JobGone, DescribedOtherJob."""
        ...

    def list_tags(self, arn: str) -> dict[str, str]:
        """Every tag of the resource (ListTags, all pages)."""
        ...

    def stop(self, api: JobApi, name: str) -> None:
        """Stop*. Raises NotStoppable when the job is not InProgress."""
        ...

    def add_tags(self, arn: str, tags: dict[str, str]) -> None: ...

    def schedules_running(self, definition_name: str, monitoring_type: str) -> list[str]:
        """Names of the monitoring schedules that run a job definition (ListMonitoringSchedules by
        MonitoringJobDefinitionName and MonitoringTypeEquals, all pages)."""
        ...

    def create(self, api: JobApi, request: dict[str, Any]) -> bool:
        """Create*; False when the name is taken (ResourceInUse: the caller checks whose job it
        is). Raises CopyRefused when SageMaker refuses the request (ValidationException),
        CapacityHeld for an instance quota (ResourceLimitExceeded)."""
        ...


class BotoSageMakerJobs:
    """SageMakerJobs over a boto3 SageMaker client."""

    def __init__(self, sagemaker: SageMakerClient) -> None:
        self._sagemaker = sagemaker

    @property
    def service_model(self) -> ServiceModel:
        return self._sagemaker.meta.service_model

    @property
    def partition(self) -> str:
        # botocore resolves it from its endpoints data with the client: every partition it knows.
        return self._sagemaker.meta.partition

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        return getattr(self._sagemaker, xform_name(operation))(**kwargs)

    def describe(self, api: JobApi, name: str) -> dict[str, Any]:
        try:
            described = self._call(api.describe_operation, **{api.name_member: name})
        except ClientError as exc:
            if is_sagemaker_describe_not_found(exc):
                raise JobGone(name) from exc
            raise
        answered = str(described.get(api.name_member, ""))
        if answered.lower() != name.lower():
            raise DescribedOtherJob(f"asked for {name!r}, got {answered!r}")
        return described

    def list_tags(self, arn: str) -> dict[str, str]:
        tags: dict[str, str] = {}
        for page in self._sagemaker.get_paginator("list_tags").paginate(ResourceArn=arn):
            tags.update(tags_to_dict(page.get("Tags", [])))
        return tags

    def stop(self, api: JobApi, name: str) -> None:
        try:
            self._call(api.stop_operation, **{api.name_member: name})
        except ClientError as exc:
            # SageMaker refuses to stop a job that is not InProgress with ValidationException;
            # the caller asks describe what the job is doing rather than read the message text.
            if error_code(exc) == "ValidationException":
                raise NotStoppable(name) from exc
            raise

    def schedules_running(self, definition_name: str, monitoring_type: str) -> list[str]:
        pages = self._sagemaker.get_paginator("list_monitoring_schedules").paginate(
            MonitoringJobDefinitionName=definition_name,
            MonitoringTypeEquals=monitoring_type,  # type: ignore[arg-type]  # an enum value, from the model
            PaginationConfig={"PageSize": 100},
        )
        return [s["MonitoringScheduleName"] for page in pages for s in page.get("MonitoringScheduleSummaries", [])]

    def add_tags(self, arn: str, tags: dict[str, str]) -> None:
        self._sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])

    def create(self, api: JobApi, request: dict[str, Any]) -> bool:
        try:
            self._call(api.create_operation, **request)
        except self._sagemaker.exceptions.ResourceInUse:
            # Modeled by botocore for every Create the guard calls: the deterministic name is taken.
            return False
        except self._sagemaker.exceptions.ResourceLimitExceeded as exc:
            # An instance quota: the stopping original may still hold the instances the copy needs
            # ("... is 2 Instances, with current utilization of 3 Instances", quoted in
            # aws/amazon-sagemaker-examples issue 1543).
            raise CapacityHeld(str(exc.response.get("Error", {}).get("Message", ""))[:2000]) from exc
        except ClientError as exc:
            # ValidationException is not a modeled SageMaker exception: told apart by its code.
            if error_code(exc) == "ValidationException":
                raise CopyRefused(str(exc.response.get("Error", {}).get("Message", ""))[:2000]) from exc
            raise
        return True
