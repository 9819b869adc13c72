"""The guard end to end on the embedded AWS, with no AWS account.

    python -m sandbox.demo [--mode relaunch|stop|notify] [--verbose]

moto runs as a threaded HTTP server with the project's SageMaker extension. Data scientists'
API calls become CloudTrail-shaped events inside it, EventBridge rules whose patterns are read
from template.yaml route them, and the real Lambda handler (functions/job_guard/app.py) runs
behind them with Lambda's asynchronous retry semantics. The demo then checks that every job
ended where the policy says and exits non-zero if one did not (a wrong pattern fails it).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"


@dataclass
class Scenario:
    name: str
    summary: str
    create: dict[str, Any]
    expect: Callable[[Any, str], list[str]]  # (sandbox, mode) -> problems
    invokes: bool = True  # whether template.yaml's pattern lets the CreateTrainingJob event through


def _quiet_environment(verbose: bool) -> None:
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        POWERTOOLS_SERVICE_NAME="ict-guard",
        POWERTOOLS_METRICS_NAMESPACE="SageMakerICTGuard",
        POWERTOOLS_TRACE_DISABLED="true",
        AWS_LAMBDA_FUNCTION_NAME="ict-guard-job-guard",
    )
    os.environ.pop("AWS_PROFILE", None)
    if not verbose:
        os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=["relaunch", "stop", "notify"], default="relaunch")
    parser.add_argument("--verbose", action="store_true", help="show the handler's logs and metrics")
    args = parser.parse_args(argv)
    _quiet_environment(args.verbose)

    # Imported after the environment is set: Powertools reads it at import.
    import boto3
    import requests
    from moto.server import ThreadedMotoServer

    from functions.job_guard.app import lambda_handler
    from functions.sg_guard.app import lambda_handler as sg_lambda_handler
    from ict_guard.clone import relaunch_name
    from ict_guard.runtime import job_guard_runtime, sg_guard_runtime
    from sandbox import prevention, sagemaker_extension
    from sandbox import template as sam_template
    from sandbox.environment import GuardSandbox, provision

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto server's per-request log lines
    sagemaker_extension.install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    try:
        template = sam_template.load_template()
        session = boto3.session.Session(region_name=REGION)
        env = provision(session, template)
        for key, value in env.function_environment(REMEDIATION_MODE=args.mode).items():
            if args.verbose or not key.startswith("POWERTOOLS_"):
                os.environ[key] = value
        job_guard_runtime.cache_clear()
        sandbox = GuardSandbox(session, env, lambda_handler)
        sg_guard_runtime.cache_clear()
        sandbox.add_function("SecurityGroupGuardFunction", sg_lambda_handler, "ict-guard-sg-guard")
        rules = sam_template.event_rules(template)

        print(f"sagemaker-ict-guard demo: embedded AWS (moto server) at {endpoint}, mode {args.mode}\n")
        print("Provisioned like a deployed stack:")
        print(
            f"  VPC {env.vpc_id}; security groups {env.bare_group_id} (default egress only) and "
            f"{env.second_group_id} (no rules): neither allows IPsec between its members"
        )
        print(
            f"  alert topic {env.topic_arn.split(':')[-1]} -> SQS subscription (to read the alerts), "
            f"idempotency table {env.table_name}, dead-letter queue"
        )
        for rule in rules:
            print(
                f"  EventBridge rule {rule.rule_name} -> {rule.function_logical_id} (pattern read from template.yaml)"
            )

        scenarios = _scenarios(env, relaunch_name)
        print("\nData scientists start training jobs (each call becomes a CloudTrail event):")
        for scenario in scenarios:
            sandbox.create_training_job(scenario.name, **scenario.create)
            print(f"  {scenario.name:<22} {scenario.summary}")

        before = {g: _ipsec_rules(sandbox.group(g)) for g in (env.bare_group_id, env.second_group_id)}
        scan_before = _cli_scan(endpoint, "before the guard acts")
        invocations = sandbox.deliver()
        handled = [i.event["detail"]["requestParameters"]["trainingJobName"] for i in invocations]
        print(f"\nEventBridge delivered {len(invocations)} event(s) to JobGuardFunction: {', '.join(handled)}")
        failed_invocations = [i for i in invocations if i.dead_lettered]

        print("\nOutcome:")
        problems: list[str] = []
        for scenario in scenarios:
            job = sandbox.describe(scenario.name)
            tag = sandbox.tags(scenario.name).get("ict-guard:remediation", "-")
            clone = relaunch_name(scenario.name)
            clone_text = ""
            if clone in sandbox.training_job_names():
                copy = sandbox.describe(clone)
                clone_text = (
                    f" -> re-launched as {clone} (encryption "
                    f"{'on' if copy['EnableInterContainerTrafficEncryption'] else 'OFF'}, "
                    f"{copy['TrainingJobStatus']})"
                )
            found = scenario.expect(sandbox, args.mode)
            if (scenario.name in handled) != scenario.invokes:
                found.append("the pattern should " + ("" if scenario.invokes else "not ") + "let its event through")
            problems += [f"{scenario.name}: {p}" for p in found]
            mark = "ok " if not found else "FAIL"
            invoked = "invoked" if scenario.name in handled else "filtered by the pattern"
            print(
                f"  [{mark}] {scenario.name:<17} {invoked:<24} {job['TrainingJobStatus']:<10} "
                f"remediation tag: {tag}{clone_text}"
            )
            for p in found:
                print(f"         expected otherwise: {p}")

        print("\nSecurity-group rules added by the guard:")
        added_any = False
        for group_id, rules_before in before.items():
            for rule in sorted(_ipsec_rules(sandbox.group(group_id)) - rules_before):
                added_any = True
                print(f"  {group_id}: {rule}")
        if not added_any:
            print("  none")

        print("\nAlerts that arrived on the SNS topic's SQS subscription:")
        alerts = sandbox.alerts()
        for alert in alerts:
            target = f" -> {alert['relaunched_as']}" if alert.get("relaunched_as") else ""
            print(f"  [{alert['severity']:<8}] {alert['action']:<25} {alert['resource']['name']}{target}")
            print(f"             {alert['reason']}")
        if not alerts:
            print("  none")
        if alerts:
            print("\nThe e-mail text of the first alert:")
            print("  " + _email_text(sandbox, alerts[0]).replace("\n", "\n  "))

        problems += _scan_expectations(scan_before, _cli_scan(endpoint, "after the guard acted"), args.mode)
        problems += [f"invocation dead-lettered: {i.errors}" for i in failed_invocations]
        problems += _alert_expectations(alerts, args.mode)
        problems += _security_group_guard(sandbox, env)
        problems += _tuning_job(sandbox, args.mode)
        problems += _processing_job(sandbox, args.mode)
        problems += _monitoring_schedule(sandbox, args.mode)
        problems += _pipeline_step(sandbox, args.mode)
        problems += prevention.run(session, endpoint)  # scan finds a pipeline, iac, defaults
        if problems:
            print(f"\nDEMO FAILED: {len(problems)} expectation(s) not met")
            return 1
        print("\nDemo passed: every job ended where the policy says.")
        return 0
    finally:
        try:
            requests.post(f"{endpoint}/moto-api/reset", timeout=10)
        finally:
            server.stop()


def _processing_job(sandbox: Any, mode: str) -> list[str]:
    """A distributed Spark processing job without encryption: the same path as a training job,
    with the flag in NetworkConfig and the instances in ProcessingResources.ClusterConfig."""
    from ict_guard.clone import relaunch_name

    name, kind = "churn-features", "processing-job"
    print(f"\nA data engineer starts the processing job {name} (Spark on 3 instances, VPC, encryption off):")
    sandbox.create_processing_job(name, instance_count=3)
    invocations = sandbox.deliver()
    status = sandbox.describe_kind(kind, name)["ProcessingJobStatus"]
    names = [s["ProcessingJobName"] for s in sandbox.sagemaker.list_processing_jobs()["ProcessingJobSummaries"]]
    copy_name = relaunch_name(name)
    print(f"  {name}: {status}, remediation tag {sandbox.tags_of(kind, name).get('ict-guard:remediation', '-')}")
    problems = []
    if copy_name in names:
        encrypted = sandbox.describe_kind(kind, copy_name)["NetworkConfig"]["EnableInterContainerTrafficEncryption"]
        print(f"  re-launched as {copy_name}: NetworkConfig.EnableInterContainerTrafficEncryption={encrypted}")
        if not encrypted:
            problems.append(f"{copy_name} is not encrypted")
    alerts = [a for a in sandbox.alerts() if a["resource"]["name"] == name]
    for alert in alerts:
        print(f"  alert [{alert['severity']}] {alert['action']}: {alert['reason']}")
    want_status = {"relaunch": ("Stopping", "Stopped"), "stop": ("Stopping", "Stopped"), "notify": ("InProgress",)}
    if status not in want_status[mode]:
        problems.append(f"{name}: {status}")
    if (copy_name in names) != (mode == "relaunch"):
        problems.append(f"{name}: re-launch " + ("missing" if mode == "relaunch" else "unexpected"))
    first = {"relaunch": "relaunched", "stop": "stopped", "notify": "notified"}[mode]
    if [a["action"] for a in alerts] != [first] or any(i.dead_lettered for i in invocations):
        problems.append(f"{name}: alerts {[a['action'] for a in alerts]}, expected [{first!r}]")
    return problems


def _monitoring_schedule(sandbox: Any, mode: str) -> list[str]:
    """A data-quality monitoring schedule whose job definition runs on 2 instances without
    encryption, with an execution running: job definitions cannot be changed, so in relaunch mode
    the guard makes an encrypted copy of the definition, points the schedule at it, and stops the
    running execution; stop mode stops the schedule and the execution."""
    from ict_guard.clone import relaunch_name
    from sandbox import monitoring_extension

    schedule, definition, kind = "churn-data-quality", "churn-dq-definition", "monitoring-schedule"
    print(
        f"\nAn ML engineer schedules hourly data-quality monitoring {schedule} with the job definition "
        f"{definition} (2 instances, VPC, encryption off); an execution is running:"
    )
    sandbox.create_data_quality_job_definition(definition)
    sandbox.create_monitoring_schedule(schedule, definition=definition)
    execution = monitoring_extension.start_monitoring_execution(ACCOUNT, REGION, schedule)
    invocations = sandbox.deliver()
    described = sandbox.describe_kind(kind, schedule)
    runs = described["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"]
    execution_status = sandbox.describe_kind("processing-job", execution)["ProcessingJobStatus"]
    print(
        f"  {schedule}: {described['MonitoringScheduleStatus']}, runs {runs}; execution {execution}: {execution_status}"
    )
    problems = []
    if runs != definition:
        network = sandbox.describe_kind("data-quality-job-definition", runs)["NetworkConfig"]
        flag = network.get("EnableInterContainerTrafficEncryption")
        print(f"  {runs}: NetworkConfig.EnableInterContainerTrafficEncryption={flag}")
        old_tag = sandbox.tags_of("data-quality-job-definition", definition).get("ict-guard:remediation", "-")
        print(f"  {definition}: kept, tagged ict-guard:remediation={old_tag}")
        if not network.get("EnableInterContainerTrafficEncryption"):
            problems.append(f"{runs} is not encrypted")
    alerts = [a for a in sandbox.alerts() if a["resource"]["name"] == schedule]
    for alert in alerts:
        print(f"  alert [{alert['severity']}] {alert['action']}: {alert['reason']}")
    created = sandbox.describe_kind("data-quality-job-definition", definition)["CreationTime"]
    want_runs = relaunch_name(definition, salt=str(created)) if mode == "relaunch" else definition
    if runs != want_runs:
        problems.append(f"{schedule}: runs {runs}, expected {want_runs}")
    want_schedule = {"relaunch": ("Pending", "Scheduled"), "stop": ("Stopped",), "notify": ("Pending", "Scheduled")}
    if described["MonitoringScheduleStatus"] not in want_schedule[mode]:
        problems.append(f"{schedule}: {described['MonitoringScheduleStatus']}")
    if (execution_status == "InProgress") != (mode == "notify"):
        problems.append(f"{execution}: {execution_status}")
    first = {"relaunch": "encrypted_in_place", "stop": "stopped", "notify": "notified"}[mode]
    if [a["action"] for a in alerts] != [first] or any(i.dead_lettered for i in invocations):
        problems.append(f"{schedule}: alerts {[a['action'] for a in alerts]}, expected [{first!r}]")
    return problems


def _pipeline_step(sandbox: Any, mode: str) -> list[str]:
    """A training job a SageMaker Pipelines step started, without encryption: a copy made outside
    the pipeline would leave the step failed and the copy orphaned, so relaunch mode does not
    re-launch it (UnrelaunchableJobAction=notify: left running, HIGH "action needed" alert)."""
    from ict_guard.clone import relaunch_name

    name = "pipelines-abc123-TrainStep-Xyz"
    execution = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/churn/execution/abc123"
    print(
        f"\nA SageMaker Pipelines execution starts the training job {name} "
        "(step TrainStep, 2 instances, encryption off):"
    )
    sandbox.create_training_job(
        name,
        vpc=False,
        tags={"sagemaker:pipeline-execution-arn": execution, "sagemaker:pipeline-step-name": "TrainStep"},
    )
    sandbox.deliver()
    status = sandbox.describe(name)["TrainingJobStatus"]
    alerts = [a for a in sandbox.alerts() if a["resource"]["name"] == name]
    print(f"  {name}: {status}; re-launched: {'yes' if relaunch_name(name) in sandbox.training_job_names() else 'no'}")
    for alert in alerts:
        print(f"  alert [{alert['severity']}] {alert['action']}: {alert['reason']}")
    problems = []
    want = {
        "relaunch": ("InProgress", "notified", True),
        "stop": ("Stopping", "stopped", False),
        "notify": ("InProgress", "notified", False),
    }[mode]
    if status not in (want[0], "Stopped" if want[0] == "Stopping" else want[0]):
        problems.append(f"{name}: {status}, expected {want[0]}")
    if relaunch_name(name) in sandbox.training_job_names():
        problems.append(f"{name}: re-launched behind the pipeline's back")
    if [(a["action"], a.get("action_needed", False)) for a in alerts] != [want[1:]]:
        got = [(a["action"], a.get("action_needed")) for a in alerts]
        problems.append(f"{name}: alerts {got}, expected [{want[1:]}]")
    if mode == "relaunch" and alerts and (execution not in alerts[0]["reason"] or alerts[0]["severity"] != "HIGH"):
        problems.append(f"{name}: the alert does not name the pipeline execution with severity HIGH")
    return problems


def _scenarios(env: Any, relaunch_name: Callable[[str], str]) -> list[Scenario]:
    hardened_only = {"SecurityGroupIds": [env.second_group_id], "Subnets": env.subnet_ids}

    def unencrypted(sandbox: Any, mode: str) -> list[str]:
        name, found = "resnet-ddp", []
        status = sandbox.describe(name)["TrainingJobStatus"]
        running_expected = mode == "notify"
        if (status == "InProgress") != running_expected:
            found.append(f"status {status}")
        has_clone = relaunch_name(name) in sandbox.training_job_names()
        if has_clone != (mode == "relaunch"):
            found.append("re-launch " + ("missing" if mode == "relaunch" else "unexpected"))
        if has_clone and not sandbox.describe(relaunch_name(name))["EnableInterContainerTrafficEncryption"]:
            found.append("re-launch is not encrypted")
        return found

    def left_running(name: str) -> Callable[[Any, str], list[str]]:
        def check(sandbox: Any, mode: str) -> list[str]:
            found = []
            if sandbox.describe(name)["TrainingJobStatus"] != "InProgress":
                found.append("should still be running")
            if relaunch_name(name) in sandbox.training_job_names():
                found.append("should not be re-launched")
            return found

        return check

    return [
        Scenario("resnet-ddp", "2 instances, VPC, encryption off", {"encrypted": False}, unencrypted),
        Scenario(
            "bert-encrypted",
            "2 instances, VPC (hardened group), encryption on",
            {"encrypted": True, "VpcConfig": hardened_only},
            left_running("bert-encrypted"),
        ),
        Scenario("smoke-test", "1 instance, VPC, encryption off", {"instance_count": 1}, left_running("smoke-test")),
        Scenario(
            "exempt-benchmark",
            "2 instances, VPC, encryption off, tagged ict-guard:exempt=true",
            {"tags": {"ict-guard:exempt": "true"}},
            left_running("exempt-benchmark"),
        ),
        Scenario(
            "tabular-no-vpc",
            "2 instances, no VPC, encryption on (filtered at the door)",
            {"encrypted": True, "vpc": False},
            left_running("tabular-no-vpc"),
            invokes=False,
        ),
    ]


def _tuning_job(sandbox: Any, mode: str) -> list[str]:
    """A hyperparameter tuning job without encryption, 7 of its training jobs done and 2 running:
    remediated as a whole. Its copy cannot warm-start from the unencrypted original (SageMaker
    refuses it, and so does the embedded SageMaker), so it starts its search over, and the alert
    says what that costs."""
    from ict_guard.clone import relaunch_name
    from sandbox import sagemaker_extension

    name, copy_name = "vit-hpo", relaunch_name("vit-hpo", 32)
    print(
        f"\nA data scientist starts the tuning job {name} (Bayesian search of 20 trainings on 2 "
        "instances each, VPC, encryption off); 7 trainings completed, 2 running:"
    )
    sandbox.create_tuning_job(name)
    sagemaker_extension.set_tuning_progress(ACCOUNT, REGION, name, completed=7, in_progress=2)
    invocations = sandbox.deliver()  # its CloudTrail event (and the copy's)
    status = sandbox.describe_tuning(name)["HyperParameterTuningJobStatus"]
    print(f"  {name}: {status}, remediation tag {sandbox.tuning_tags(name).get('ict-guard:remediation', '-')}")
    problems = []
    if copy_name in sandbox.tuning_job_names():
        copy = sandbox.describe_tuning(copy_name)
        encrypted = copy["TrainingJobDefinition"]["EnableInterContainerTrafficEncryption"]
        warm_start = copy.get("WarmStartConfig", {}).get("ParentHyperParameterTuningJobs", [])
        parents = [p["HyperParameterTuningJobName"] for p in warm_start]
        print(
            f"  re-launched as {copy_name}: encryption {'on' if encrypted else 'OFF'}, "
            f"warm start from {parents or 'nothing'}"
        )
        if not encrypted or parents:
            problems.append(f"{copy_name}: encrypted={encrypted}, warm-start parents {parents}")
    alerts = [a for a in sandbox.alerts() if a["resource"]["name"] == name]
    for alert in alerts:
        print(f"  alert [{alert['severity']}] {alert['action']}: {alert['reason']}")
        for note in alert.get("notes", []):
            print(f"    note: {note}")
    if mode == "relaunch" and not any("starts its search over" in n for a in alerts for n in a.get("notes", [])):
        problems.append(f"{name}: the alert does not say the copy starts its search over")
    want_status = {"relaunch": ("Stopping", "Stopped"), "stop": ("Stopping", "Stopped"), "notify": ("InProgress",)}[
        mode
    ]
    if status not in want_status:
        problems.append(f"{name}: {status}")
    if (copy_name in sandbox.tuning_job_names()) != (mode == "relaunch"):
        problems.append(f"{name}: re-launch " + ("missing" if mode == "relaunch" else "unexpected"))
    first = {"relaunch": "relaunched", "stop": "stopped", "notify": "notified"}[mode]
    if [a["action"] for a in alerts] != [first] or any(i.dead_lettered for i in invocations):
        problems.append(f"{name}: alerts {[a['action'] for a in alerts]}, expected [{first!r}]")
    return problems


def _security_group_guard(sandbox: Any, env: Any) -> list[str]:
    """Somebody tidies up the group the guard repaired for bert-encrypted (every mode repairs
    it): an SSH rule and then a guard rule are revoked; the rule comes back and the alerts name
    the right event for each."""
    from ict_guard.security_groups import IPSEC_NEEDS, self_referencing_permission

    group_id, problems = env.second_group_id, []
    tags = {t["Key"]: t["Value"] for t in sandbox.group(group_id).get("Tags", [])}
    if tags.get("ict-guard:managed") != "true":
        return [f"{group_id} is not tagged ict-guard:managed=true after its repair"]
    before = _ipsec_rules(sandbox.group(group_id))
    admin = sandbox.iam_user_session("network-admin").client("ec2")
    ssh = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.20.0.0/16"}]}
    admin.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[ssh])  # no event: not a removal
    print(f"\nThe IAM user network-admin tidies up {group_id}, which the guard manages now:")
    admin.revoke_security_group_ingress(GroupId=group_id, IpPermissions=[ssh])
    print("  revokes an old SSH rule (TCP 22 from 10.20.0.0/16)")
    udp_in = IPSEC_NEEDS[0]
    admin.revoke_security_group_ingress(GroupId=group_id, IpPermissions=[self_referencing_permission(group_id, udp_in)])
    print("  revokes inbound UDP 500 from/to itself, a rule the guard added")

    invocations = sandbox.deliver()
    outcomes = [(i.event["detail"]["eventName"], (i.result or {}).get("outcome", "FAILED")) for i in invocations]
    print(f"\nEventBridge delivered {len(invocations)} event(s) to SecurityGroupGuardFunction:")
    for invocation, (event_name, outcome) in zip(invocations, outcomes, strict=True):
        print(f"  {event_name:<28} {invocation.event['detail']['eventID']} -> {outcome}")
    after = _ipsec_rules(sandbox.group(group_id))
    missing = sorted(before - after)
    mark = "ok " if not missing else "FAIL"
    print(f"  [{mark}] {group_id} IPsec rules afterwards: " + (", ".join(sorted(after)) or "none"))
    if missing:
        problems.append(f"{group_id} lost {missing}")
    problems += [f"invocation dead-lettered: {i.errors}" for i in invocations if i.dead_lettered]

    # Which event each alert is about, not only the outcomes: the SSH revoke's event sees the
    # UDP 500 gap first and restores it, but must not name its caller (his request removed no
    # IPsec rule); the UDP 500 revoke's own event finds the group whole and names who removed it.
    def event_of(predicate: Callable[[dict[str, Any]], bool]) -> str | None:
        return next((i.event["detail"]["eventID"] for i in invocations if predicate(i.event["detail"])), None)

    ssh_event = event_of(lambda d: '"fromPort": 22' in json.dumps(d["requestParameters"]))
    udp_event = event_of(lambda d: '"fromPort": 500' in json.dumps(d["requestParameters"]))
    by_event = {i.event["detail"]["eventID"]: (i.result or {}).get("outcome", "FAILED") for i in invocations}
    if (by_event.get(ssh_event), by_event.get(udp_event)) != ("restored", "already-restored"):
        problems.append(
            f"security-group guard outcomes {outcomes}, expected the SSH revoke's event "
            "to restore and the UDP 500 revoke's event to find it already restored"
        )

    alerts = sandbox.alerts()
    print("\nAlerts of the security-group guard:")
    for alert in alerts:
        print(
            f"  [{alert['severity']:<8}] {alert['action']:<25} {alert['resource']['name']} "
            f"event {alert['event_id']}, changed by {alert['initiated_by'] or 'another call'}"
        )
        print(f"             {alert['reason']}")
    admin_arn = f"arn:aws:iam::{ACCOUNT}:user/network-admin"
    got = [(a["action"], a["resource"]["name"], a["event_id"], a["initiated_by"]) for a in alerts]
    want = [
        ("security_groups_restored", group_id, ssh_event, None),
        ("security_groups_restored", group_id, udp_event, admin_arn),
    ]
    if got != want:
        problems.append(f"security-group alerts {got}, expected {want}")
    else:
        print("\nThe e-mail text of the alert that names who removed the rule:")
        print("  " + _email_text(sandbox, alerts[1]).replace("\n", "\n  "))
    return problems


def _cli_scan(endpoint: str, when: str) -> Any:
    """`ict-guard scan` (cli/ict_guard_cli) against the moto server, deciding with the demo's policy."""
    import datetime as dt

    from ict_guard.settings import Settings
    from ict_guard_cli.scan import ScanOptions, run_scan
    from ict_guard_cli.session import AwsContext

    options = ScanOptions(since=dt.datetime.now(dt.UTC) - dt.timedelta(days=1), skip=frozenset({"cloudtrail", "stack"}))
    report = run_scan(AwsContext(region=REGION, endpoint_url=endpoint), options, Settings.from_env(os.environ), "demo")
    print(f"\n`ict-guard scan` {when} (CloudTrail and stack checks skipped: the demo routes events itself):")
    for line in report.summary_lines():
        print("  " + line.replace("\n", "\n  "))
    return report


def _scan_expectations(before: Any, after: Any, mode: str) -> list[str]:
    def running_unencrypted(report: Any) -> set[str]:
        return {row.job.name for row in report.jobs.rows if row.state == "running-unencrypted"}

    problems = (
        [] if running_unencrypted(before) == {"resnet-ddp"} else [f"scan before: {sorted(running_unencrypted(before))}"]
    )
    if mode != "notify" and running_unencrypted(after):
        problems.append(f"scan after: still running unencrypted {sorted(running_unencrypted(after))}")
    return problems


def _alert_expectations(alerts: list[dict[str, Any]], mode: str) -> list[str]:
    got = sorted((a["action"], a["resource"]["name"]) for a in alerts)
    first = {"relaunch": "relaunched", "stop": "stopped", "notify": "notified"}[mode]
    want = sorted(
        [
            (first, "resnet-ddp"),
            ("security_groups_repaired", "bert-encrypted"),
            ("notified", "exempt-benchmark"),
        ]
    )
    return [] if got == want else [f"alerts {got}, expected {want}"]


def _ipsec_rules(group: dict[str, Any]) -> set[str]:
    rules = set()
    for direction, key in (("inbound", "IpPermissions"), ("outbound", "IpPermissionsEgress")):
        for permission in group.get(key, []):
            peers = [p["GroupId"] for p in permission.get("UserIdGroupPairs", [])]
            if group["GroupId"] not in peers:
                continue
            what = {"udp": f"UDP {permission.get('FromPort')}", "50": "ESP (protocol 50)"}.get(
                permission["IpProtocol"], permission["IpProtocol"]
            )
            rules.add(f"{direction} {what} from/to itself")
    return rules


def _email_text(sandbox: Any, alert: dict[str, Any]) -> str:
    from ict_guard.alerts import Alert, AlertAction

    rebuilt = Alert(
        action=AlertAction(alert["action"]),
        resource_type=alert["resource"]["type"],
        name=alert["resource"]["name"],
        arn=alert["resource"]["arn"],
        account=alert["account"],
        region=alert["region"],
        event_id=alert["event_id"],
        reason=alert["reason"],
        mode=alert["mode"],
        initiated_by=alert.get("initiated_by"),
        acting_for=alert.get("acting_for"),
        initiator_note=alert.get("initiator_note"),
        action_needed=alert.get("action_needed", False),
        notes=alert.get("notes", []),
        relaunch_command=alert.get("relaunch_command"),
        instance_count=alert.get("instance_count"),
        relaunched_as=alert.get("relaunched_as"),
        security_groups=alert.get("security_groups", []),
        rules_added=alert.get("rules_added", []),
        problems=alert.get("problems", []),
        # The job guard's alerts say how to exempt a job; the security-group guard's do not.
        exempt_tag_key=None if alert["resource"]["type"] == "security-group" else "ict-guard:exempt",
    )
    return rebuilt.text()


if __name__ == "__main__":
    sys.exit(main())
