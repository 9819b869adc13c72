"""The demo's last part: prevention (issue 13). On the embedded AWS a team upserts a SageMaker
pipeline whose training step leaves the flag out; `ict-guard scan` finds the step before any
execution starts it, `ict-guard iac examples/` finds the same kind of gap in the repository's
example documents before they are deployed, and `ict-guard defaults` prints the SDK config that
turns the flag on for code that leaves it unset. Each is the real command, run in-process."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

REGION = "us-east-1"
ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
PIPELINE_EXAMPLE = EXAMPLES / "iac" / "churn-pipeline.json"
ROLE = "arn:aws:iam::123456789012:role/SageMakerPipelineRole"
ONLY_PIPELINES = [
    "--skip",
    "jobs",
    "--skip",
    "security-groups",
    "--skip",
    "cloudtrail",
    "--skip",
    "stack",
]


def _ict_guard(*args: str) -> int:
    """`ict-guard ARGS` in this process (its output on this process's stdout); the exit code."""
    from ict_guard_cli.app import cli

    print(f"\n$ ict-guard {' '.join(args)}")
    result = cli.main(list(args), prog_name="ict-guard", standalone_mode=False)
    return int(result or 0)


def run(session: Any, endpoint: str) -> list[str]:
    from ict_guard.settings import Settings
    from ict_guard_cli.scan import ScanOptions, run_scan
    from ict_guard_cli.session import AwsContext

    print("\nPrevention: the next unencrypted job, before it starts.")
    print(
        "A team upserts the SageMaker pipeline churn-training (examples/iac/churn-pipeline.json):"
    )
    session.client("sagemaker").create_pipeline(
        PipelineName="churn-training",
        PipelineDefinition=PIPELINE_EXAMPLE.read_text(),
        RoleArn=ROLE,
    )
    problems: list[str] = []
    code = _ict_guard("--endpoint-url", endpoint, "--region", REGION, "scan", *ONLY_PIPELINES)
    options = ScanOptions(
        since=dt.datetime.now(dt.UTC) - dt.timedelta(days=1),
        skip=frozenset({"jobs", "security-groups", "cloudtrail", "stack"}),
    )
    report = run_scan(AwsContext(region=REGION, endpoint_url=endpoint), options, Settings(), "demo")
    found = {f.resource for f in report.findings}
    if code != 1 or "pipeline/churn-training/TrainChurnModel" not in found:
        problems.append(f"scan: exit code {code}, pipeline findings {sorted(found)}")

    code = _ict_guard("iac", os.path.relpath(EXAMPLES) + "/")
    if code != 1:
        problems.append(f"iac examples/: exit code {code}, expected 1 (findings)")

    code = _ict_guard("defaults")
    if code != 0:
        problems.append(f"defaults: exit code {code}")
    return problems
