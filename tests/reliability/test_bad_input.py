"""Bad input: every file of events/invalid/ (malformed, adversarial, or about jobs and groups that
do not exist) goes straight to the job guard, the way Lambda would hand it over if a pattern let
it through, and must end in the clear outcome events/invalid/manifest.json names.

For each file: exactly one run (an unhandled exception would make Lambda retry in vain and fill
the dead-letter queue), a log line that says why, a metric, every line on stdout a whole JSON
document of reasonable size (nothing forged, nothing huge echoed), and no change to any resource
but the job the event names (for malformed, ignored, not-found and mismatch: no change at all).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.job_guard.app import lambda_handler
from functions.job_guard.app import logger as handler_logger
from ict_guard.runtime import job_guard_runtime
from sandbox import sagemaker_extension
from sandbox.environment import GuardSandbox, provision
from sandbox.template import EVENTS_DIR

pytestmark = pytest.mark.integration

INVALID_DIR = EVENTS_DIR / "invalid"
MANIFEST: dict[str, Any] = json.loads((INVALID_DIR / "manifest.json").read_text(encoding="utf-8"))
FILES = sorted(p.name for p in INVALID_DIR.glob("*.json") if p.name != "manifest.json")
NO_CHANGE = {"malformed", "ignored", "not-found", "mismatch"}
METRIC = {
    "malformed": "MalformedEvents",
    "mismatch": "MalformedEvents",
    "ignored": "FailedCallEvents",
    "not-found": "JobsNotFound",
    "nothing": "JobEventsEvaluated",
    "repair-security-groups": "JobEventsEvaluated",
}
MAX_LOG_LINE = 16 * 1024  # far above any honest line; far below CloudWatch's 256 KB event limit

# Bugs this corpus found (strict: once fixed, the marker must go).


def test_the_manifest_describes_every_file_and_nothing_else():
    assert len(FILES) >= 40
    assert sorted(MANIFEST) == FILES
    for file_name, entry in MANIFEST.items():
        assert entry["expect"] and set(entry["expect"]) <= set(METRIC), file_name
        assert entry["why"], file_name


@pytest.fixture(scope="module")
def account() -> Iterator[GuardSandbox]:
    """One account for the whole corpus: no file may change it (the ones with a setup create
    jobs of their own names)."""
    with pytest.MonkeyPatch.context() as monkeypatch, mock_aws():
        sagemaker_extension.install()
        session = boto3.session.Session(region_name="us-east-1")
        env = provision(session)
        for key, value in env.function_environment().items():
            monkeypatch.setenv(key, value)
        job_guard_runtime.cache_clear()
        yield GuardSandbox(session, env, lambda_handler)
        job_guard_runtime.cache_clear()


def set_up(account: GuardSandbox, setup: dict[str, Any]) -> None:
    for job in setup.get("jobs", []):
        options = {k: v for k, v in job.items() if k not in ("name", "security_groups")}
        options.setdefault("encrypted", False)
        if "security_groups" in job:
            options["VpcConfig"] = {
                "SecurityGroupIds": job["security_groups"],
                "Subnets": account.env.subnet_ids,
            }
        account.create_training_job(job["name"], **options)
    # The setup's own CloudTrail events are not part of the test.
    url = account.env.target_queue_urls["JobGuardFunction"]
    while messages := account.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        for message in messages:
            account.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    for asked, answered_by in setup.get("describe_substitute", {}).items():
        sagemaker_extension.substitute_describe(asked, answered_by)


def snapshot(account: GuardSandbox) -> dict[str, Any]:
    sagemaker, ec2 = account.sagemaker, account.ec2
    jobs = {}
    for name in account.training_job_names():
        described = sagemaker.describe_training_job(TrainingJobName=name)
        tags = sagemaker.list_tags(ResourceArn=described["TrainingJobArn"])["Tags"]
        jobs[name] = (described["TrainingJobStatus"], sorted((t["Key"], t["Value"]) for t in tags))
    groups = {
        g["GroupId"]: json.dumps(
            [g["IpPermissions"], g["IpPermissionsEgress"], g.get("Tags", [])], sort_keys=True
        )
        for g in ec2.describe_security_groups()["SecurityGroups"]
    }
    return {"jobs": jobs, "groups": groups}


def named_job(event: Any) -> str | None:
    detail = event.get("detail") if isinstance(event, dict) else None
    request = (detail or {}).get("requestParameters") if isinstance(detail, dict) else None
    name = request.get("trainingJobName") if isinstance(request, dict) else None
    return name if isinstance(name, str) else None


@pytest.mark.parametrize(
    "file_name",
    [
        f
        for f in FILES
    ],
)
def test_bad_input_ends_in_a_clear_outcome_and_touches_nothing_else(
    account, file_name, capsys, caplog
):
    entry = MANIFEST[file_name]
    event = json.loads((INVALID_DIR / file_name).read_text(encoding="utf-8"))
    set_up(account, entry.get("setup", {}))
    account.alerts()
    before = snapshot(account)
    capsys.readouterr()
    caplog.clear()
    try:
        invocation = account.function.invoke(event)
    finally:
        sagemaker_extension.clear_describe_substitutes()
    out = capsys.readouterr().out

    assert invocation.attempts == 1 and not invocation.dead_lettered, invocation.errors
    outcome = invocation.result["outcome"]
    assert outcome in entry["expect"], (invocation.result, entry["why"])

    # What CloudWatch Logs would receive: the EMF documents on stdout, and the log records as the
    # handler's Powertools formatter writes them.
    formatter = handler_logger.registered_formatter
    lines = [line for line in out.splitlines() if line.strip()]
    lines += [formatter.format(record) for record in caplog.records]
    longest = max(lines, key=len)
    assert len(longest) <= MAX_LOG_LINE, f"a {len(longest)}-character log line: {longest[:300]}"
    documents = [json.loads(line) for line in lines]  # each one whole JSON document: none forged
    metrics = {
        m["Name"]
        for d in documents
        if "_aws" in d
        for x in d["_aws"]["CloudWatchMetrics"]
        for m in x["Metrics"]
    }
    assert METRIC[outcome] in metrics, metrics
    logs = [d for d in documents if "level" in d and "message" in d]
    if outcome in ("malformed", "mismatch"):
        assert any(d["level"] in ("WARNING", "ERROR") and d.get("reason") for d in logs), logs
    else:
        assert any(d["level"] in ("INFO", "WARNING", "ERROR") for d in logs), logs

    after = snapshot(account)
    alerts = account.alerts()
    assert account.dead_letters() == []
    if outcome in NO_CHANGE:
        assert after == before
        assert alerts == []
    else:
        name = named_job(event)
        assert {k: v for k, v in after["jobs"].items() if k != name} == {
            k: v for k, v in before["jobs"].items() if k != name
        }
        assert after["groups"] == before["groups"]
        assert all(a["resource"]["name"] == name for a in alerts), alerts
