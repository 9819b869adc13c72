"""`iac --sarif`: the findings as a SARIF 2.1.0 log, for code-scanning services (GitHub code
scanning, Azure DevOps, most IDEs): one run, tool.driver with its two rules, one result per job
without the flag, located by file (and line when the loader knows it) and by the resource's
logical id, step or state name as a logical location."""

from __future__ import annotations

from typing import Any

from ict_guard import __version__
from ict_guard_cli.create_requests import State
from ict_guard_cli.iac import IacReport

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"

RULES: dict[State, dict[str, Any]] = {
    State.UNENCRYPTED: {
        "id": "ICTG001",
        "name": "InterContainerTrafficEncryptionOff",
        "shortDescription": {"text": "A distributed SageMaker job runs without inter-container traffic encryption"},
        "fullDescription": {
            "text": "EnableInterContainerTrafficEncryption is false or absent (SageMaker's "
            "default is false) on a job or job definition with at least the minimum instance "
            "count: traffic between its instances travels unencrypted."
        },
        "help": {
            "text": "Set EnableInterContainerTrafficEncryption to true (NetworkConfig for "
            "processing and monitoring jobs, SecurityConfig for AutoML)."
        },
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["security", "sagemaker", "encryption-in-transit"]},
    },
    State.UNKNOWN: {
        "id": "ICTG002",
        "name": "InterContainerTrafficEncryptionNotLiteral",
        "shortDescription": {"text": "Inter-container traffic encryption is not a literal true"},
        "fullDescription": {
            "text": "The flag comes from a parameter, an intrinsic function, a state's input or a "
            "value known only after apply: nothing in the document shows it is true."
        },
        "help": {"text": "Write true as a literal, or make the parameter's only allowed value true."},
        "defaultConfiguration": {"level": "warning"},
        "properties": {"tags": ["security", "sagemaker", "encryption-in-transit"]},
    },
}
_ORDER = list(RULES)


def sarif_log(report: IacReport) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    for resource in report.resources:
        for verdict in resource.verdicts:
            if not verdict.finding:
                continue
            rule = RULES[verdict.state]
            where = resource.name + (f" ({verdict.part})" if verdict.part else "")
            physical: dict[str, Any] = {"artifactLocation": {"uri": resource.file}}
            if resource.line is not None:
                physical["region"] = {"startLine": resource.line}
            results.append(
                {
                    "ruleId": rule["id"],
                    "ruleIndex": _ORDER.index(verdict.state),
                    "level": rule["defaultConfiguration"]["level"],
                    "message": {"text": f"{where} ({resource.action.value}): {verdict.reason}"},
                    "locations": [
                        {
                            "physicalLocation": physical,
                            "logicalLocations": [
                                {
                                    "name": resource.name.rsplit("/", 1)[-1],
                                    "fullyQualifiedName": resource.name,
                                    "kind": "resource",
                                }
                            ],
                        }
                    ],
                    "properties": {
                        "source": resource.source,
                        "resourceType": resource.resource_type,
                        "flag": verdict.flag_path,
                        "instanceCount": verdict.instance_count,
                    },
                }
            )
    notifications = [
        {
            "level": "error",
            "message": {"text": error.error or "unreadable"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": error.path}}}],
        }
        for error in report.errors
    ]
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "ict-guard",
                        "version": __version__,
                        "rules": [RULES[state] for state in _ORDER],
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": not report.errors,
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "results": results,
            }
        ],
    }
