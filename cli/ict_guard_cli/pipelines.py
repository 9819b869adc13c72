"""`scan`'s pipelines check: every SageMaker pipeline's current definition, judged as `iac` judges
a definition file.

A pipeline is the next job before it exists: each execution starts its training, tuning,
processing and AutoML steps with the `Arguments` of the definition. ListPipelines pages through
the region's pipelines; DescribePipeline returns `PipelineDefinition`, the JSON document (a
definition kept in S3 is returned inline too). Each step goes through
`create_requests.judge_request`, so a pipeline parameter as the instance count or the flag is
unknown, and a finding.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from ict_guard.errors import error_code
from ict_guard.settings import Settings
from ict_guard_cli.create_requests import State
from ict_guard_cli.iac import IacResource, pipeline_resources
from ict_guard_cli.session import AwsContext, explain_aws_error

PAGE_SIZE = 100  # ListPipelines' maximum


@dataclass
class PipelineRow:
    name: str
    arn: str
    steps: list[IacResource] = field(default_factory=list)
    problem: str | None = None  # a definition that is not JSON

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "arn": self.arn,
            "problem": self.problem,
            "steps": [
                {
                    "name": step.name,
                    "type": step.resource_type,
                    "action": step.action.value,
                    "finding": step.finding,
                    "verdicts": [v.as_dict() for v in step.verdicts],
                }
                for step in self.steps
            ],
        }


@dataclass
class PipelinesAudit:
    listed: int = 0
    rows: list[PipelineRow] = field(default_factory=list)
    error: str | None = None

    def findings(self) -> list[tuple[str, str, str]]:
        """(severity, resource, message) per step without the flag: HIGH when the step is known
        to start an unencrypted distributed job, MEDIUM when the flag or the count is unknown."""
        found = []
        for row in self.rows:
            if row.problem:
                found.append(("MEDIUM", f"pipeline/{row.name}", row.problem))
            for step in row.steps:
                for verdict in step.verdicts:
                    if not verdict.finding:
                        continue
                    known = verdict.state is State.UNENCRYPTED and verdict.instance_count
                    what = f" ({verdict.part})" if verdict.part else ""
                    found.append(
                        (
                            "HIGH" if known else "MEDIUM",
                            f"pipeline/{row.name}/{step.name}",
                            f"{step.resource_type}{what} ({step.action.value}): {verdict.reason}",
                        )
                    )
        return found

    def as_dict(self) -> dict[str, Any]:
        return {
            "listed": self.listed,
            "pipelines": [row.as_dict() for row in self.rows],
            "error": self.error,
        }


def audit_pipelines(
    aws: AwsContext, settings: Settings, tick: Callable[[int], None] = lambda _: None
) -> PipelinesAudit:
    audit = PipelinesAudit()
    sagemaker = aws.client("sagemaker")
    try:
        pages = sagemaker.get_paginator("list_pipelines").paginate(PaginationConfig={"PageSize": PAGE_SIZE})
        summaries = [s for page in pages for s in page.get("PipelineSummaries", [])]
        audit.listed = len(summaries)
        for summary in summaries:
            name = summary["PipelineName"]
            try:
                described = sagemaker.describe_pipeline(PipelineName=name)
            except ClientError as exc:
                if error_code(exc) == "ResourceNotFound":  # deleted since it was listed
                    continue
                raise
            audit.rows.append(judge_pipeline(name, described, settings))
            tick(1)
    except ClientError as exc:
        audit.error = explain_aws_error(exc).message
    return audit


def judge_pipeline(name: str, described: dict[str, Any], settings: Settings) -> PipelineRow:
    row = PipelineRow(name=name, arn=str(described.get("PipelineArn", "")))
    try:
        definition = json.loads(described.get("PipelineDefinition") or "{}")
    except ValueError as exc:
        row.problem = f"PipelineDefinition is not JSON: {exc}"
        return row
    if isinstance(definition, dict):
        row.steps = list(pipeline_resources(definition, row.arn, settings))
    return row
