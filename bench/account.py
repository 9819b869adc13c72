"""One embedded AWS account for benchmarks, in-process: moto with the project's SageMaker
extension, provisioned by `sandbox.environment.provision` (the template's rules, table, topic,
VPC), and the real handler invoked on the events the template's rules route to it."""

from __future__ import annotations

import copy
import functools
import json
import os
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from bench.calls import CallLog, CallRecorder

ACCOUNT = "123456789012"
REGION = "us-east-1"
FUNCTION = "JobGuardFunction"

# What a Lambda function's process has in its environment besides the function's own variables,
# and what the bench process needs so that nothing reaches a real AWS account.
BASE_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_LAMBDA_FUNCTION_NAME": "ict-guard-job-guard",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
    "POWERTOOLS_TRACE_DISABLED": "true",
}


def prepare_process_environment() -> None:
    """Before the handler or Powertools is imported (Powertools reads its settings at import):
    fake credentials, no profile, no endpoint, and the variables template.yaml's Globals give
    every function (service name, metrics namespace, log level)."""
    os.environ.update(BASE_ENVIRONMENT)
    globals_ = (_template().get("Globals") or {}).get("Function") or {}
    variables = (globals_.get("Environment") or {}).get("Variables") or {}
    os.environ.update(
        {key: str(value) for key, value in variables.items() if not isinstance(value, dict)}
    )
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        os.environ.pop(key, None)


@contextmanager
def patched_environ(values: Mapping[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@dataclass
class LambdaContext:
    function_name: str = "ict-guard-job-guard"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ict-guard-job-guard"
    aws_request_id: str = "00000000-0000-4000-8000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 120_000


@dataclass
class Invocation:
    event: dict[str, Any]
    result: Any
    log: CallLog
    seconds: float  # wall clock
    # The process's CPU time, every thread's (the guard's reads sent with its lock run on threads
    # of their own; moto in-process included): not waiting, not queued.
    cpu_seconds: float


class BenchAccount:
    """The account, the guard deployed in it (configured by policy), and its users."""

    def __init__(self, session: Any, env: Any, sandbox: Any, recorder: CallRecorder) -> None:
        self.session = session
        self.env = env
        self.sandbox = sandbox  # GuardSandbox: the data scientists' clients
        self.recorder = recorder
        self.sqs = sandbox.sqs
        self.ec2 = sandbox.ec2
        self._policy: dict[str, str] | None = None
        self._saved_environ: dict[str, str | None] = {}

    # -- the guard's configuration --------------------------------------------------------------

    def configure(self, **policy: str) -> None:
        """Set the function's environment as the template does, `policy` overriding parameters,
        and start a new container (the runtime is rebuilt on the next event)."""
        from ict_guard.runtime import job_guard_runtime

        if policy == self._policy:
            return
        for key, value in self.env.function_environment(**policy).items():
            self._saved_environ.setdefault(key, os.environ.get(key))
            os.environ[key] = value
        self._policy = dict(policy)
        job_guard_runtime.cache_clear()

    def restore_environ(self) -> None:
        for key, value in self._saved_environ.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_environ.clear()

    # -- events ---------------------------------------------------------------------------------

    def routed_events(self, function: str = FUNCTION) -> list[dict[str, Any]]:
        """Events the template's rules delivered to `function` since the last look (consumed)."""
        url = self.env.target_queue_urls[function]
        events = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return events
            for message in messages:
                events.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def invoke(self, event: dict[str, Any], *, record: bool = True) -> Invocation:
        """Run the real handler on one event, as one warm Lambda invocation."""
        from functions.job_guard.app import lambda_handler

        context = LambdaContext(aws_request_id=str(uuid.uuid4()))
        with self.recorder.window() as log:
            start, cpu = time.perf_counter(), time.process_time()
            result = lambda_handler(event, context)
            seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
        if not record:
            log.calls.clear()
        return Invocation(event, result, log, seconds, cpu_seconds)

    # -- resources ------------------------------------------------------------------------------

    def fresh_security_groups(self, tag: str) -> list[str]:
        """Two groups like the provisioned ones (default egress only; nothing at all), so that a
        repair path finds the same rules missing every time."""
        bare = self.ec2.create_security_group(
            GroupName=f"bench-{tag}-a", Description="bench", VpcId=self.env.vpc_id
        )["GroupId"]
        hardened = self.ec2.create_security_group(
            GroupName=f"bench-{tag}-b", Description="bench", VpcId=self.env.vpc_id
        )["GroupId"]
        self.ec2.revoke_security_group_egress(
            GroupId=hardened,
            IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
        )
        return [bare, hardened]

    def seed_completed_training_jobs(
        self, count: int, *, start: int = 0, ledger_every: int = 10
    ) -> None:
        """History: `count` finished training jobs written straight into moto's SageMaker backend
        (the API would also emit a CloudTrail event per job and take minutes for 10,000), as the
        sandbox's own job type, so that Describe/ListTags/List* see them like any other job.
        Every `ledger_every`-th job was remediated by the guard earlier: it carries the guard's
        tag and a settled ledger item in the guard's table (written with BatchWriteItem)."""
        seed_completed_training_jobs(self, count, start=start, ledger_every=ledger_every)

    def seed_in_progress_training_jobs(
        self, count: int, *, start: int = 0, created: datetime | None = None
    ) -> list[str]:
        return seed_in_progress_training_jobs(self, count, start=start, created=created)


@functools.cache
def _template() -> dict[str, Any]:
    from sandbox import template as sam_template

    return sam_template.load_template()


def template() -> dict[str, Any]:
    """template.yaml, parsed once per process (a copy each time: callers may keep it)."""
    return copy.deepcopy(_template())


@contextmanager
def embedded_account(recorder: CallRecorder | None = None) -> Iterator[BenchAccount]:
    """A fresh embedded account with the guard deployed (policy: the template's defaults)."""
    from moto import mock_aws

    from functions.job_guard.app import lambda_handler
    from ict_guard.ledger import KEY_PREFIX
    from ict_guard.runtime import job_guard_runtime
    from sandbox import sagemaker_extension
    from sandbox.environment import GuardSandbox, provision

    with mock_aws():
        sagemaker_extension.install()
        session = boto3.session.Session(region_name=REGION)
        env = provision(session, template())
        recorder = recorder or CallRecorder()
        recorder.table_name = env.table_name
        recorder.ledger_prefix = KEY_PREFIX
        with recorder.installed():
            account = BenchAccount(
                session, env, GuardSandbox(session, env, lambda_handler), recorder
            )
            try:
                account.configure()
                yield account
            finally:
                account.restore_environ()
                job_guard_runtime.cache_clear()


# -- history --------------------------------------------------------------------------------------


def _training_backend() -> Any:
    from moto.sagemaker.models import sagemaker_backends

    return sagemaker_backends[ACCOUNT][REGION]


def seed_completed_training_jobs(
    account: BenchAccount, count: int, *, start: int = 0, ledger_every: int = 10
) -> None:
    from ict_guard.ledger import KEY_PREFIX
    from sandbox.environment import training_job_request
    from sandbox.sagemaker_extension import EmulatedTrainingJob

    backend = _training_backend()
    long_ago = datetime.now(UTC) - timedelta(days=30)
    template = training_job_request(account.env, "history-template", encrypted=False)
    ledger_items = []
    for index in range(start, start + count):
        name = f"history-{index:06d}"
        request = copy.deepcopy(template)
        request["TrainingJobName"] = name
        request["EnableInterContainerTrafficEncryption"] = index % 3 != 0
        remediated = ledger_every and index % ledger_every == 0
        if remediated:
            request["Tags"] = [{"Key": "ict-guard:remediation", "Value": "relaunched"}]
        job = EmulatedTrainingJob(ACCOUNT, REGION, request)
        moment = long_ago + timedelta(seconds=index)
        job.creation_time = job.last_modified_time = job.training_start_time = moment
        job.finish("Completed" if index % 7 else "Stopped")
        backend.training_jobs[name] = job
        if remediated:
            ledger_items.append(
                {
                    "id": {"S": f"{KEY_PREFIX}training-job/{name}"},
                    "expiration": {"N": str(int(time.time()) + 86_400)},
                    "intent": {"S": "relaunch"},
                    "settled": {"BOOL": True},
                    "outcome": {"S": "relaunched"},
                }
            )
    dynamodb = account.session.client("dynamodb")
    for offset in range(0, len(ledger_items), 25):
        batch = ledger_items[offset : offset + 25]
        dynamodb.batch_write_item(
            RequestItems={
                account.env.table_name: [{"PutRequest": {"Item": item}} for item in batch]
            }
        )


def seed_in_progress_training_jobs(
    account: BenchAccount, count: int, *, start: int = 0, created: datetime | None = None
) -> list[str]:
    """Running, compliant jobs (encrypted, no VPC: nothing for the guard to do) in the backend,
    created now or at `created`."""
    from sandbox.environment import training_job_request
    from sandbox.sagemaker_extension import EmulatedTrainingJob

    backend = _training_backend()
    names = []
    for index in range(start, start + count):
        name = f"running-{index:06d}"
        request = training_job_request(account.env, name, encrypted=True, vpc=False)
        job = EmulatedTrainingJob(ACCOUNT, REGION, request)
        if created is not None:
            job.creation_time = job.last_modified_time = job.training_start_time = created
        backend.training_jobs[name] = job
        names.append(name)
    return names
