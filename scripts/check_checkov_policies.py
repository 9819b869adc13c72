"""The Checkov custom policies (policies/checkov) on the examples (examples/iac): every SageMaker
resource there must get exactly the result written below, from our checks (CKV_ICT_*) and from
Checkov's own CKV_AWS_369 (data-quality job definitions, which no custom check repeats).

Runs with the scanners' virtual environment (.venv-scan), from scripts/scan:

    .venv-scan/bin/python scripts/check_checkov_policies.py

Offline (--skip-download). Exit code 0 when every result is the expected one, 1 otherwise.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "policies" / "checkov"
EXAMPLES = ROOT / "examples" / "iac"
CHECKS = ("CKV_ICT_1", "CKV_ICT_2", "CKV_ICT_3", "CKV_ICT_4", "CKV_ICT_5", "CKV_ICT_6", "CKV_AWS_369")

# (framework, check id, resource) -> result. A resource a check does not judge (a schedule that
# names its job definition) is absent: Checkov reports UNKNOWN results nowhere.
EXPECTED: dict[tuple[str, str, str], str] = {
    # monitoring-template.yaml (also read by `ict-guard iac`)
    ("cloudformation", "CKV_AWS_369", "AWS::SageMaker::DataQualityJobDefinition.DataQualityDefinition"): "PASSED",
    ("cloudformation", "CKV_ICT_1", "AWS::SageMaker::ModelBiasJobDefinition.ModelBiasDefinition"): "FAILED",
    ("cloudformation", "CKV_ICT_1", "AWS::SageMaker::ModelQualityJobDefinition.ModelQualityDefinition"): "PASSED",
    (
        "cloudformation",
        "CKV_ICT_1",
        "AWS::SageMaker::ModelExplainabilityJobDefinition.ModelExplainabilityDefinition",
    ): "FAILED",
    ("cloudformation", "CKV_ICT_2", "AWS::SageMaker::MonitoringSchedule.InlineSchedule"): "FAILED",
    # jobs-template.yaml
    ("cloudformation", "CKV_ICT_1", "AWS::SageMaker::ModelBiasJobDefinition.EncryptedBiasDefinition"): "PASSED",
    ("cloudformation", "CKV_ICT_2", "AWS::SageMaker::MonitoringSchedule.EncryptedInlineSchedule"): "PASSED",
    ("cloudformation", "CKV_ICT_3", "AWS::SageMaker::TrainingJob.DistributedTraining"): "FAILED",
    ("cloudformation", "CKV_ICT_3", "AWS::SageMaker::TrainingJob.EncryptedTraining"): "PASSED",
    ("cloudformation", "CKV_ICT_4", "AWS::SageMaker::ProcessingJob.FeatureProcessing"): "FAILED",
    ("cloudformation", "CKV_ICT_4", "AWS::SageMaker::ProcessingJob.SingleProcessing"): "PASSED",
    # sagemaker-jobs.tf
    ("terraform", "CKV_ICT_5", "aws_sagemaker_training_job.ddp"): "FAILED",
    ("terraform", "CKV_ICT_5", "aws_sagemaker_training_job.smoke"): "PASSED",
    ("terraform", "CKV_ICT_5", "aws_sagemaker_training_job.hetero"): "PASSED",
    ("terraform", "CKV_ICT_5", "aws_sagemaker_training_job.elastic"): "FAILED",
    ("terraform", "CKV_ICT_6", "aws_sagemaker_hyper_parameter_tuning_job.xgb"): "FAILED",
    ("terraform", "CKV_ICT_6", "aws_sagemaker_hyper_parameter_tuning_job.xgb_encrypted"): "PASSED",
    ("terraform", "CKV_AWS_369", "aws_sagemaker_data_quality_job_definition.fraud"): "FAILED",
}


def run_checkov() -> list[dict]:
    checkov = Path(sys.executable).parent / "checkov"
    done = subprocess.run(
        [
            str(checkov),
            "--directory",
            str(EXAMPLES),
            "--external-checks-dir",
            str(POLICIES),
            "--framework",
            "cloudformation",
            "terraform",
            "--check",
            ",".join(CHECKS),
            "--skip-download",  # not --quiet: it leaves the passed checks out of the report
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode not in (0, 1):  # 1: failed checks, as expected
        sys.exit(f"checkov exited {done.returncode}:\n{done.stderr}")
    report = json.loads(done.stdout)
    return report if isinstance(report, list) else [report]


def main() -> int:
    results: dict[tuple[str, str, str], str] = {}
    parsing_errors = 0
    for report in run_checkov():
        parsing_errors += report.get("summary", {}).get("parsing_errors", 0)
        for kind in ("passed_checks", "failed_checks"):
            for check in report.get("results", {}).get(kind, []):
                results[(report["check_type"], check["check_id"], check["resource"])] = check["check_result"]["result"]
    problems = [
        f"  {check} {resource} ({framework}): expected {expected}, got {results.get(key, 'no result')}"
        for key, expected in EXPECTED.items()
        for framework, check, resource in [key]
        if results.get(key) != expected
    ]
    problems += [
        f"  {check} {resource} ({framework}): {result}, not in the expected results"
        for (framework, check, resource), result in results.items()
        if (framework, check, resource) not in EXPECTED
    ]
    if parsing_errors:
        problems.append(f"  {parsing_errors} file(s) Checkov could not parse")
    failed = sum(1 for result in results.values() if result == "FAILED")
    print(
        f"checkov   custom policies on examples/iac: {len(results)} results, {failed} failed as expected"
        if not problems
        else "checkov   custom policies on examples/iac: results differ from the expected ones"
    )
    for line in problems:
        print(line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
