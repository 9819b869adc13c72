"""Expand a packaged SAM template into plain CloudFormation, for CloudFormation StackSets with
service-managed permissions (AWS Organizations), which refuse templates that contain a Transform:
"Transform is not supported in SERVICE_MANAGED permission model" (aws-cloudformation coverage
roadmap issue #839; the CloudFormation User Guide, "Overview of CloudFormation macros": StackSets
doesn't support service-managed stack sets from templates that reference macros).

The expansion runs the AWS SAM translator (aws-sam-translator), the library behind the
AWS::Serverless transform, offline: no AWS account, no credentials. The input must be packaged
(`sam package`): every CodeUri and ContentUri an s3:// URI. A managed policy given by name would
need IAM to look up its ARN; this template uses none, and the expansion refuses one.

Runs with the SAM CLI's virtual environment (.venv-sam), where the translator is installed:
    scripts/expand-template packaged.yaml -o stackset.json
    scripts/expand-template --check            # expand template.yaml with placeholder URIs, lint
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER_BUCKET = "sagemaker-ict-guard-artifacts-placeholder"


class NoManagedPolicyNames:
    """Stands in for the translator's IAM-backed loader: a policy given by name fails loudly."""

    def load(self) -> dict[str, str]:
        return {}


def expand(template: dict[str, Any]) -> dict[str, Any]:
    local = [
        f"{logical_id}.{key}"
        for logical_id, resource in template.get("Resources", {}).items()
        for key in ("CodeUri", "ContentUri")
        if isinstance((resource.get("Properties") or {}).get(key), str)
        and not resource["Properties"][key].startswith("s3://")
    ]
    if local:
        raise SystemExit(f"not packaged (run `sam package` first): {', '.join(local)}")
    expanded = transform(template, {}, NoManagedPolicyNames())  # type: ignore[arg-type]
    leftovers = [
        logical_id
        for logical_id, resource in expanded["Resources"].items()
        if str(resource.get("Type", "")).startswith("AWS::Serverless::")
    ]
    if "Transform" in expanded or leftovers:
        raise SystemExit(f"the expansion left SAM in the template: {leftovers or 'Transform'}")
    return expanded


def with_placeholder_uris(template: dict[str, Any]) -> dict[str, Any]:
    """template.yaml as `sam package` would leave it, with a placeholder bucket (for --check)."""
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str) and not properties[key].startswith("s3://"):
                properties[key] = f"s3://{PLACEHOLDER_BUCKET}/{logical_id}.zip"
    return template


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("template", nargs="?", type=Path, help="a packaged SAM template (sam package)")
    parser.add_argument("-o", "--output", type=Path, help="where to write the JSON (default: stdout)")
    parser.add_argument(
        "--region",
        default="us-east-1",
        help="any region of the partition the StackSet deploys to: the translator writes the "
        "partition into AWS managed policy ARNs (default: us-east-1, partition aws)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="expand template.yaml with placeholder s3:// URIs (offline check of the StackSet path)",
    )
    args = parser.parse_args(argv)
    # The translator asks boto3 for a region to name the partition; nothing region-specific is
    # written (the template uses AWS::Region wherever it needs one).
    os.environ["AWS_DEFAULT_REGION"] = args.region
    if args.check:
        source = with_placeholder_uris(yaml_parse((ROOT / "template.yaml").read_text(encoding="utf-8")))
    elif args.template:
        source = yaml_parse(args.template.read_text(encoding="utf-8"))
    else:
        parser.error("give a packaged template, or --check")
    try:
        expanded = expand(source)
    except InvalidDocumentException as exc:
        raise SystemExit(f"the SAM translator refused the template: {exc}") from exc
    text = json.dumps(expanded, indent=1, sort_keys=False) + "\n"
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
