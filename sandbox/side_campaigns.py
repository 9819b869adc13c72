"""The side paths under the job guard's fault campaigns: the sweeper and the security-group guard.

Both run with the same per-attempt faults as the job guard (sandbox/faults.py: throttling, 5xx,
connect and read timeouts on every client of the function under test, botocore's retry decisions
kept and its backoff skipped) and with Lambda's asynchronous semantics (one try, two retries,
then the dead-letter queue: sandbox/lambda_service.py). Then every item is judged.

The sweeper (`run_sweep_campaign`)
  Jobs whose CloudTrail events are lost (nothing reaches the job guard, and nothing the guard's
  own calls cause either) and a series of scheduled sweeps, each the real handler
  (functions/sweeper/app.py). A sweep that cannot handle every job raises SweepIncomplete and
  Lambda retries it up to twice; then the next scheduled sweep comes. Between two scheduled
  sweeps 15 minutes pass: the idempotency locks of runs that died (at most the function's
  timeout) have expired, which the campaign models by expiring every INPROGRESS record.
  Each job the sweeps list ends (SweepVerdict):
    remediated               as the job-guard campaign's `Verdict.REMEDIATED` (one encrypted copy
                             with the original's configuration, tagged, a `relaunched` alert)
    left running             the policy leaves it alone (as `Verdict.LEFT_RUNNING`); a job whose
                             copy SageMaker refuses ends as `Verdict.REFUSED_SETTLED`
    reported                 stopped without a copy (or copied without its `relaunched` alert),
                             and a `failed` alert carries the re-launch request
    left for the next sweep  still running untouched, the last sweep run that met it failed on it
                             (or found it held by another run), and no sweep run succeeded after
                             that (the sweep's error, then its dead letter, speaks)
  and never
    skipped silently         still running untouched although the last sweep run that met it
                             handled it without error, or a later sweep run succeeded without it
    stopped silently         stopped, no copy, no `failed` alert with the request
    doubled                  two copies, or two different `relaunched` alerts each of which the
                             guard saw published. SNS transport duplicates are counted, not
                             failed: a publish whose answer was lost is sent again by botocore
                             (identical documents), and one whose every attempt failed for the
                             guard may still have reached the topic, after which a later run
                             rightly alerts again (`PublishRecord` tells them apart)
  Tuning jobs (`tuning_mix`, each with training jobs of its own) are swept too: an unencrypted one
  ends remediated (one copy, its training-job definition the original's but encrypted, the
  original stopped, a `relaunched` alert), reported, left for the next sweep, or stopped with its
  copy owed to the next sweep (which lists stopped tuning jobs and resumes them); an encrypted
  one is left running; their training jobs are left to them, never stopped or copied.
  A training job the guard stopped is no longer listed by any sweep: if its copy failed, the
  `failed` alert with the re-launch request is the only thing that tells (`reported`).

The security-group guard (`run_sg_campaign`)
  Groups tagged `ict-guard:managed=true` with the four self-referencing IPsec rules (UDP 500 and
  ESP, in and out); a network admin revokes some of them, one call per rule, and unrelated rules
  and the rules of unmanaged groups too. The CloudTrail-shaped events reach the real handler
  (functions/sg_guard/app.py) behind the template's rule. Each managed group ends (SgVerdict)
  covered (the rules back) or alerted (a `failed` alert, or one of its events dead-lettered, whose
  alarm speaks) and never silently uncovered, never with a rule twice; an unmanaged group is
  never touched. A covered group must also have said so: a `security_groups_restored` alert (or a
  dead letter), since somebody removed a rule encrypted jobs need (README, "Security groups that
  stay repaired"); the first campaign found groups restored without one (a lost answer to the
  restoring Authorize call), now fixed and kept as a reproduction.
"""

from __future__ import annotations

import enum
import json
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sandbox import sagemaker_extension
from sandbox.environment import GuardSandbox
from sandbox.faults import FaultInjector, FaultProfile, guard_clients
from sandbox.lambda_service import AsyncLambda, QueueTarget, sqs_dead_letter
from sandbox.reliability import (
    REFUSAL_MESSAGE,
    RELAUNCHED_FROM_TAG,
    REMEDIATION_TAG,
    STOPPED_STATES,
    JobProfile,
    JobSpec,
    Verdict,
    configuration_differences,
    configuration_fields,
    training_jobs_read_back,
)

ACCOUNT = "123456789012"
SWEEPER = "ict-guard-sweeper"
SG_GUARD = "SecurityGroupGuardFunction"


class ThreadLabelledInjector(FaultInjector):
    """A FaultInjector whose `label` is per thread: the sweep handles four jobs at a time, each
    in its own worker thread, and each attempt is labelled with the job that made it.

    Its draws are keyed, so that a seeded campaign repeats whatever the threads' interleaving:
    the n-th attempt of an operation by one label (a job in one sweep run; unlabelled calls, the
    sweep's listing, in order) always meets the same fault. One shared generator, as the base
    class has, would hand the faults out in the order the worker threads happen to call."""

    def __init__(self, profile: FaultProfile) -> None:
        self._labels = threading.local()
        self._draws: Counter[tuple[str, str, str]] = Counter()
        super().__init__(profile)

    def _generator(self, service: str, operation: str) -> random.Random:  # under self._lock
        key = (_label_key(self.label), service, operation)
        self._draws[key] += 1
        return random.Random(f"{self.profile.seed}|{'|'.join(key)}|{self._draws[key]}")

    @property  # type: ignore[override]
    def label(self) -> Any:
        return getattr(self._labels, "value", None)

    @label.setter
    def label(self, value: Any) -> None:
        self._labels.value = value


def _label_key(label: Any) -> str:
    if isinstance(label, tuple) and len(label) == 2 and isinstance(label[0], SweepRun):
        run, job = label
        return f"sweep {run.sweep}.{run.attempt} {job}"
    return "-" if label is None else str(label)


def attach_faults(clients: Any, **profile: Any) -> ThreadLabelledInjector:
    """Attach an injector to every client of a runtime (`ict_guard.runtime.*_runtime().clients`)."""
    injector = ThreadLabelledInjector(FaultProfile(**profile))
    injector.attach(*guard_clients(clients))
    return injector


def lose_events(sandbox: GuardSandbox, function: str = "JobGuardFunction") -> int:
    """Drop what the rules delivered to `function`: the events never reached it."""
    url = sandbox.env.target_queue_urls[function]
    lost = 0
    while messages := sandbox.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        for message in messages:
            sandbox.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            lost += 1
    return lost


def expire_locks(sandbox: GuardSandbox) -> int:
    """Time passes (15 minutes, a sweep's schedule): every INPROGRESS idempotency record of a run
    that died has outlived the function's timeout. Returns how many there were."""
    dynamodb = sandbox.session.client("dynamodb")
    expired = 0
    for page in dynamodb.get_paginator("scan").paginate(TableName=sandbox.env.table_name):
        for item in page["Items"]:
            if item.get("status", {}).get("S") == "INPROGRESS":
                dynamodb.update_item(
                    TableName=sandbox.env.table_name,
                    Key={"id": item["id"]},
                    UpdateExpression="SET in_progress_expiration = :past",
                    ExpressionAttributeValues={":past": {"N": "1"}},
                )
                expired += 1
    return expired


def _document_key(document: Mapping[str, Any]) -> str:
    """An alert document as the guard published it (without what the reader added: `_subject`,
    `_attributes`), canonical."""
    return json.dumps(
        {k: v for k, v in document.items() if not k.startswith("_")}, sort_keys=True, default=str
    )


class PublishRecord:
    """What the guard saw of each of its SNS Publish calls: the documents whose call succeeded.

    A publish whose every attempt failed for the guard may still have reached the topic (a read
    timeout is a request SNS executed, its answer lost): the guard rightly reports the failure
    and a later run publishes again, with a new document. Telling those apart from the guard
    deciding twice needs the guard's view, which botocore's `provide-client-params` and
    `after-call` events give per API call (after its retries)."""

    def __init__(self) -> None:
        self.confirmed: set[str] = set()
        self._lock = threading.Lock()

    def attach(self, sns: Any) -> PublishRecord:
        events = sns.meta.events
        events.register("provide-client-params.sns.Publish", self._remember)
        events.register("after-call.sns.Publish", self._answered)
        return self

    @staticmethod
    def _remember(params: Mapping[str, Any], context: dict[str, Any], **_: Any) -> None:
        message = params.get("Message")
        if message and params.get("MessageStructure") == "json":
            message = json.loads(message).get("sqs")  # what the SQS subscription receives
        context["ict_campaign_message"] = message

    def _answered(self, http_response: Any, context: Mapping[str, Any], **_: Any) -> None:
        message = context.get("ict_campaign_message")
        if message and http_response.status_code < 300:
            with self._lock:
                self.confirmed.add(_document_key(json.loads(message)))


def alert_copies(
    alerts: Sequence[Mapping[str, Any]], confirmed: set[str] | None = None
) -> tuple[int, int, list[str]]:
    """(transport duplicates: extra copies of one document, a publish whose answer was lost and
    that botocore sent again; documents that reached the topic although their publish failed for
    the guard; the actions of which the guard saw two *different* documents published, which is
    the guard deciding twice). Without `confirmed`, every document counts as the guard's."""
    seen = Counter(_document_key(alert) for alert in alerts)
    duplicates = sum(n - 1 for n in seen.values())
    ours = [doc for doc in seen if confirmed is None or doc in confirmed]
    distinct = Counter(json.loads(doc)["action"] for doc in ours)
    doubled = sorted(action for action, n in distinct.items() if n > 1)
    return duplicates, len(seen) - len(ours), doubled


# -- the sweeper -----------------------------------------------------------------------------------


class SweepVerdict(enum.StrEnum):
    REMEDIATED = Verdict.REMEDIATED.value
    LEFT_RUNNING = Verdict.LEFT_RUNNING.value
    REFUSED_SETTLED = Verdict.REFUSED_SETTLED.value
    REPORTED = "stopped, no copy: a failed alert carries the re-launch request"
    RELAUNCHED_REPORTED = "copy running, a failed alert says so (no relaunched alert)"
    LEFT_FOR_NEXT_SWEEP = "running untouched, left for the next sweep (its last sweep run failed)"
    OWED_TO_NEXT_SWEEP = (
        "tuning job stopped by the guard, copy owed: the next sweep lists it (stopped) and resumes"
    )
    LEFT_TO_PARENT = "a tuning job's training job: left to its tuning job, untouched"
    # violations
    SKIPPED_SILENTLY = "running unencrypted, untouched, although a sweep run met it and succeeded"
    STOPPED_SILENTLY = "stopped, no copy, no failed alert with the re-launch request"
    DOUBLE_RELAUNCH = Verdict.DOUBLE_RELAUNCH.value
    DOUBLE_ALERT = "two different relaunched alerts, each published successfully by the guard"
    BAD_COPY = Verdict.BAD_COPY.value
    UNCONFIRMED = Verdict.UNCONFIRMED.value
    TOUCHED_COMPLIANT = Verdict.TOUCHED_COMPLIANT.value
    EXEMPT_NOT_NOTIFIED = "exempt or unrelaunchable job without a notified alert"
    NEVER_LISTED = "no sweep run ever met it, although sweeps succeeded"

    @property
    def acceptable(self) -> bool:
        return self in _SWEEP_ACCEPTABLE


_SWEEP_ACCEPTABLE = {
    SweepVerdict.REMEDIATED,
    SweepVerdict.LEFT_RUNNING,
    SweepVerdict.REFUSED_SETTLED,
    SweepVerdict.REPORTED,
    SweepVerdict.RELAUNCHED_REPORTED,
    SweepVerdict.LEFT_FOR_NEXT_SWEEP,
    SweepVerdict.OWED_TO_NEXT_SWEEP,
    SweepVerdict.LEFT_TO_PARENT,
}


@dataclass
class SweepRun:
    """One Lambda run of one scheduled sweep, and what it did with each job it met."""

    sweep: int
    attempt: int
    succeeded: bool = False
    report: dict[str, Any] | None = None
    error: str | None = None
    handled: dict[str, str] = field(default_factory=dict)  # job key -> outcome or "error: ..."


@dataclass
class SweptJob:
    spec: JobSpec
    verdict: SweepVerdict
    detail: str = ""
    history: list[tuple[int, int, str]] = field(default_factory=list)  # (sweep, attempt, outcome)
    alerts: list[str] = field(default_factory=list)


@dataclass
class SweepCampaignReport:
    jobs: list[SweptJob]
    runs: list[SweepRun]
    sweeps: int
    dead_lettered_sweeps: int
    transport_duplicates: int
    unconfirmed_alerts: int  # reached the topic although their publish failed for the guard
    unexpected_jobs: list[str]
    locks_expired: int
    seconds: float
    injector: FaultInjector | None = None

    @property
    def verdicts(self) -> Counter[SweepVerdict]:
        return Counter(job.verdict for job in self.jobs)

    @property
    def violations(self) -> list[SweptJob]:
        return [job for job in self.jobs if not job.verdict.acceptable]

    def figures(self, title: str) -> str:
        kinds = Counter(_kind(job.spec) for job in self.jobs)
        needing = sum(1 for job in self.jobs if job.spec.profile.must_relaunch)
        failed_runs = sum(1 for run in self.runs if not run.succeeded)
        tuning = (
            f" and {kinds['tuning']} tuning jobs (with {kinds['tuning child']} training jobs)"
            if kinds["tuning"]
            else ""
        )
        lines = [
            f"{title}: {kinds['training']} training jobs{tuning} whose events were lost "
            f"({needing} to re-launch); "
            f"{self.sweeps} scheduled sweeps, {len(self.runs)} sweep runs "
            f"({failed_runs} failed: SweepIncomplete or a failed listing; "
            f"{self.dead_lettered_sweeps} sweeps dead-lettered); {self.seconds:.1f} s wall",
        ]
        lines += _fault_lines(self.injector)
        outcomes = Counter(o.split(":")[0] for run in self.runs for o in run.handled.values())
        lines.append(
            "  job runs by outcome: " + ", ".join(f"{k} {n}" for k, n in sorted(outcomes.items()))
        )
        lines.append(
            f"  idempotency locks of dead runs expired between sweeps: {self.locks_expired}"
        )
        for kind in ("training", "tuning", "tuning child"):
            verdicts = Counter(job.verdict for job in self.jobs if _kind(job.spec) == kind)
            if not verdicts:
                continue
            lines.append(f"  end states, {kind} jobs:")
            for verdict, n in sorted(
                verdicts.items(), key=lambda kv: (not kv[0].acceptable, -kv[1])
            ):
                marker = "" if verdict.acceptable else "  <-- VIOLATION"
                lines.append(f"    {n:5d}  {verdict.value}{marker}")
        lines.append(
            f"  SNS transport duplicates: {self.transport_duplicates}, and "
            f"{self.unconfirmed_alerts} alerts delivered although their publish failed for the "
            "guard (answers lost; a later run alerted again); "
            f"unexpected jobs: {len(self.unexpected_jobs)}"
        )
        for job in self.violations[:10]:
            lines.append(f"    {job.spec.name}: {job.verdict.value} ({job.detail}); {job.history}")
        return "\n".join(lines)


def _kind(spec: JobSpec) -> str:
    if spec.profile is TUNING_CHILD:
        return "tuning child"
    return "tuning" if spec.profile in TUNING_PROFILES else "training"


def _fault_lines(injector: FaultInjector | None) -> list[str]:
    if injector is None:
        return []
    return [
        f"  faults: {injector.total_injected} injected in {injector.total_attempts} HTTP attempts "
        f"(rate {injector.profile.rate:.2f}, seed {injector.profile.seed}); by kind "
        + ", ".join(f"{k} {n}" for k, n in injector.by_kind().items())
        + "; by service "
        + ", ".join(f"{k} {n}" for k, n in injector.by_service().items()),
        f"  botocore retries: {injector.retries_granted} "
        f"(backoff skipped: {injector.backoff_skipped_seconds:.0f} s)",
    ]


TUNING_PROFILES = (
    JobProfile("tuning-unencrypted", {"encrypted": False}, True, 2),
    JobProfile("tuning-encrypted", {"encrypted": True}, False, 1),
)
TUNING_CHILD = JobProfile("tuning-child", {}, False, 0)
CHILDREN_PER_TUNING_JOB = 2


def tuning_mix(count: int, seed: int = 0, prefix: str = "hpo") -> list[JobSpec]:
    """`count` tuning jobs, two unencrypted for one encrypted, in a seeded order; each gets
    CHILDREN_PER_TUNING_JOB training jobs of its own (named `<name>-00<i>-deadbeef`)."""
    wheel = [p for p in TUNING_PROFILES for _ in range(p.weight)]
    profiles = [wheel[i % len(wheel)] for i in range(count)]
    random.Random(seed).shuffle(profiles)
    return [JobSpec(f"{prefix}-{i:03d}", profile) for i, profile in enumerate(profiles)]


def _children(spec: JobSpec) -> list[str]:
    return [f"{spec.name}-00{i}-deadbeef" for i in range(CHILDREN_PER_TUNING_JOB)]


def _create_tuning_job(sandbox: GuardSandbox, spec: JobSpec) -> None:
    encrypted = spec.profile.request["encrypted"]
    sandbox.create_tuning_job(spec.name, encrypted=encrypted)
    for child in _children(spec):
        sandbox.create_training_job(child, encrypted=encrypted)
        sagemaker_extension.attach_to_tuning_job(ACCOUNT, sandbox.env.region, child, spec.name)


class _RecordingGuard:
    """Stands in for the sweeper's JobGuard: labels each job's HTTP attempts and records what
    each sweep run made of each job. Everything else is the real guard's."""

    def __init__(self, guard: Any, injector: FaultInjector | None) -> None:
        self._guard = guard
        self._injector = injector
        self.run: SweepRun | None = None

    def remediate(self, ref: Any, *, busy_is_ok: bool = False) -> dict[str, Any]:
        return self._record(self._guard.remediate, ref, busy_is_ok)

    def resume_if_owed(self, ref: Any, *, busy_is_ok: bool = False) -> dict[str, Any]:
        return self._record(self._guard.resume_if_owed, ref, busy_is_ok)

    def _record(
        self, method: Callable[..., dict[str, Any]], ref: Any, busy_is_ok: bool
    ) -> dict[str, Any]:
        run = self.run
        if self._injector is not None:
            self._injector.label = (run, ref.key)
        try:
            result = method(ref, busy_is_ok=busy_is_ok)
        except Exception as exc:
            if run is not None:
                run.handled[ref.key] = f"error: {type(exc).__name__}: {exc}"
            raise
        finally:
            if self._injector is not None:
                self._injector.label = None
        if run is not None:
            run.handled[ref.key] = str(result.get("outcome"))
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._guard, name)


def scheduled_event(number: int) -> dict[str, Any]:
    return {
        "version": "0",
        "id": f"scheduled-sweep-{number}",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": "2026-11-26T10:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {},
    }


def run_sweep_campaign(
    sandbox: GuardSandbox,
    specs: Sequence[JobSpec],
    *,
    sweeps: int = 3,
    injector: FaultInjector | None = None,
    tuning: Sequence[JobSpec] = (),
) -> SweepCampaignReport:
    """Create the jobs, lose their events, run `sweeps` scheduled sweeps (each with Lambda's
    retries), then judge every job. The sweeper's runtime must be fresh (cache cleared) and the
    injector attached to the job guard's runtime's clients, which the sweeper shares."""
    from functions.sweeper.app import lambda_handler
    from ict_guard.runtime import job_guard_runtime, sweeper_runtime

    started = time.perf_counter()
    sagemaker_extension.refuse_encrypted_creates("refused-copy", REFUSAL_MESSAGE)
    for spec in specs:
        sandbox.create_training_job(spec.name, **spec.profile.request)
    for spec in tuning:
        _create_tuning_job(sandbox, spec)
    lose_events(sandbox)

    runtime = sweeper_runtime()
    published = PublishRecord().attach(job_guard_runtime().clients.sns)
    recorder = _RecordingGuard(runtime.sweeper._guard, injector)
    runtime.sweeper._guard = recorder  # type: ignore[assignment]
    runs: list[SweepRun] = []
    current: dict[str, int] = {"sweep": 0}

    def handler(event: Any, context: Any) -> Any:
        sweep = current["sweep"]
        run = SweepRun(sweep=sweep, attempt=1 + sum(r.sweep == sweep for r in runs))
        runs.append(run)
        recorder.run = run
        try:
            run.report = lambda_handler(event, context)
        except Exception as exc:
            run.error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            recorder.run = None
        run.succeeded = True
        return run.report

    function = AsyncLambda(
        handler,
        function_name=SWEEPER,
        region=sandbox.env.region,
        on_failure=sqs_dead_letter(sandbox.sqs, sandbox.env.dead_letter_queue_url),
    )
    dead_lettered = 0
    locks_expired = 0
    try:
        for number in range(1, sweeps + 1):
            current["sweep"] = number
            invocation = function.invoke(scheduled_event(number))
            dead_lettered += invocation.dead_lettered
            lose_events(sandbox)  # the guard's own calls' events are lost as well
            locks_expired += expire_locks(sandbox)  # the next sweep comes 15 minutes later
    finally:
        runtime.sweeper._guard = recorder._guard
        sagemaker_extension.clear_scripted_refusals()
    seconds = time.perf_counter() - started
    if injector is not None:
        injector.enabled = False  # reading the account back is not part of the experiment
    alerts = alerts_by_resource(sandbox)
    report = judge_sweeps(sandbox, specs, runs, alerts, published.confirmed)
    tuning_jobs, children, duplicates, unconfirmed = judge_tuning_sweeps(
        sandbox, tuning, runs, alerts, published.confirmed
    )
    report.jobs += tuning_jobs + children
    report.transport_duplicates += duplicates
    report.unconfirmed_alerts += unconfirmed
    originals = {spec.name for spec in tuning} | {c for spec in tuning for c in _children(spec)}
    report.unexpected_jobs = sorted(set(report.unexpected_jobs) - originals)
    report.sweeps, report.dead_lettered_sweeps = sweeps, dead_lettered
    report.locks_expired, report.seconds, report.injector = locks_expired, seconds, injector
    return report


def alerts_by_resource(sandbox: GuardSandbox) -> dict[str, list[dict[str, Any]]]:
    """Every alert on the topic (read once: reading empties the queue), by resource name."""
    alerts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for alert in sandbox.alerts():
        alert.pop("_attributes", None)
        alerts[alert["resource"]["name"]].append(alert)
    return alerts


def judge_sweeps(
    sandbox: GuardSandbox,
    specs: Sequence[JobSpec],
    runs: Sequence[SweepRun],
    alerts: Mapping[str, list[dict[str, Any]]],
    confirmed: set[str] | None = None,
) -> SweepCampaignReport:
    sagemaker = sandbox.sagemaker
    fields = configuration_fields(sagemaker)
    names = sandbox.training_job_names()
    described, tags, copies = training_jobs_read_back(sandbox, names)
    alerts = defaultdict(list, alerts)

    jobs = []
    total_duplicates = total_unconfirmed = 0
    for spec in specs:
        key = f"training-job/{spec.name}"
        history = [(r.sweep, r.attempt, r.handled[key]) for r in runs if key in r.handled]
        duplicates, unconfirmed, doubled_actions = alert_copies(alerts[spec.name], confirmed)
        total_duplicates += duplicates
        total_unconfirmed += unconfirmed
        verdict, detail = _sweep_verdict(
            spec, described, tags[spec.name], copies.get(spec.name, []), alerts[spec.name],
            doubled_actions, history, runs, fields,
        )  # fmt: skip
        jobs.append(
            SweptJob(spec, verdict, detail, history, [a["action"] for a in alerts[spec.name]])
        )
    originals = {spec.name for spec in specs}
    expected = originals | {c for name in originals for c in copies.get(name, [])}
    return SweepCampaignReport(
        jobs=jobs,
        runs=list(runs),
        sweeps=0,
        dead_lettered_sweeps=0,
        transport_duplicates=total_duplicates,
        unconfirmed_alerts=total_unconfirmed,
        unexpected_jobs=sorted(set(names) - expected),
        locks_expired=0,
        seconds=0.0,
    )


def _sweep_verdict(
    spec: JobSpec,
    described: Mapping[str, Mapping[str, Any]],
    job_tags: Mapping[str, str],
    copies: list[str],
    alerts: list[dict[str, Any]],
    doubled_actions: list[str],
    history: list[tuple[int, int, str]],
    runs: Sequence[SweepRun],
    fields: list[str],
) -> tuple[SweepVerdict, str]:
    original = described[spec.name]
    status = original["TrainingJobStatus"]
    actions = Counter(a["action"] for a in alerts)
    if not history and any(r.succeeded for r in runs):
        return SweepVerdict.NEVER_LISTED, f"status {status}"
    if len(copies) > 1:
        return SweepVerdict.DOUBLE_RELAUNCH, f"copies {copies}"
    if "relaunched" in doubled_actions:  # every failing run after the stop alerts: not "failed"
        return SweepVerdict.DOUBLE_ALERT, f"alerts {dict(actions)}"

    if not spec.profile.must_relaunch and spec.profile.obstacle != "refused":
        if copies or status != "InProgress" or REMEDIATION_TAG in job_tags:
            return SweepVerdict.TOUCHED_COMPLIANT, f"status {status}, copies {copies}"
        needs_alert = spec.profile.name == "exempt" or spec.profile.obstacle == "unrelaunchable"
        if needs_alert and not actions["notified"] and not _left_for_next(history, runs):
            return SweepVerdict.EXEMPT_NOT_NOTIFIED, f"alerts {dict(actions)}"
        return SweepVerdict.LEFT_RUNNING, ""

    failed = [a for a in alerts if a["action"] == "failed" and a.get("relaunch_request")]
    request_alert = bool(
        failed and not configuration_differences(original, failed[-1]["relaunch_request"], fields)
    )
    if copies:
        if spec.profile.obstacle == "refused":
            return SweepVerdict.BAD_COPY, f"a refused copy exists: {copies}"
        copy = described[copies[0]]
        differences = configuration_differences(original, copy, fields)
        if (
            differences
            or copy.get("EnableInterContainerTrafficEncryption") is not True
            or copy["TrainingJobStatus"] != "InProgress"
            or status not in STOPPED_STATES
        ):
            return SweepVerdict.BAD_COPY, f"differs in {differences}, original {status}"
        if actions["relaunched"] and job_tags.get(REMEDIATION_TAG) == "relaunched":
            return SweepVerdict.REMEDIATED, ""
        if actions["relaunched"] or actions["failed"]:
            return SweepVerdict.RELAUNCHED_REPORTED, ""
        tag = job_tags.get(REMEDIATION_TAG)
        return SweepVerdict.UNCONFIRMED, f"alerts {dict(actions)}, tag {tag}"

    if status == "InProgress":
        if _left_for_next(history, runs):
            return SweepVerdict.LEFT_FOR_NEXT_SWEEP, ""
        return SweepVerdict.SKIPPED_SILENTLY, f"alerts {dict(actions)}"
    if spec.profile.obstacle == "refused" and any(
        a["action"] == "failed" and a.get("action_needed") and a.get("relaunch_request")
        for a in alerts
    ):
        return SweepVerdict.REFUSED_SETTLED, ""
    if request_alert:
        return SweepVerdict.REPORTED, ""
    return SweepVerdict.STOPPED_SILENTLY, (
        f"status {status}, alerts {dict(actions)}: " + "; ".join(a["reason"] for a in alerts)
    )


def judge_tuning_sweeps(
    sandbox: GuardSandbox,
    specs: Sequence[JobSpec],
    runs: Sequence[SweepRun],
    alerts: Mapping[str, list[dict[str, Any]]],
    confirmed: set[str] | None = None,
) -> tuple[list[SweptJob], list[SweptJob], int, int]:
    """Each tuning job: remediated (one encrypted copy of its definition, the original stopped, a
    `relaunched` alert), reported, left or owed to the next sweep, or left running (encrypted);
    each of its training jobs: left to it, never stopped or copied."""
    if not specs:
        return [], [], 0, 0
    from ict_guard.clone import relaunch_name
    from ict_guard.jobs import TUNING_API

    names = sandbox.tuning_job_names()
    described = {name: sandbox.describe_tuning(name) for name in names}
    tags = {name: sandbox.tuning_tags(name) for name in names}
    alerts = defaultdict(list, alerts)
    training_tags = {name: sandbox.tags(name) for name in sandbox.training_job_names()}
    jobs, children = [], []
    total_duplicates = total_unconfirmed = 0
    for spec in specs:
        key = f"hyper-parameter-tuning-job/{spec.name}"
        history = [(r.sweep, r.attempt, r.handled[key]) for r in runs if key in r.handled]
        copies = sorted(
            {n for n, t in tags.items() if t.get(RELAUNCHED_FROM_TAG) == spec.name}
            | ({relaunch_name(spec.name, TUNING_API.name_max_length)} & set(names))
        )
        duplicates, unconfirmed, doubled = alert_copies(alerts[spec.name], confirmed)
        total_duplicates += duplicates
        total_unconfirmed += unconfirmed
        verdict, detail = _tuning_verdict(
            spec, described, copies, alerts[spec.name], doubled, history, runs
        )
        jobs.append(
            SweptJob(spec, verdict, detail, history, [a["action"] for a in alerts[spec.name]])
        )
        for child in _children(spec):
            child_key = f"training-job/{child}"
            child_history = [
                (r.sweep, r.attempt, r.handled[child_key]) for r in runs if child_key in r.handled
            ]
            child_copies = [
                n for n, t in training_tags.items() if t.get(RELAUNCHED_FROM_TAG) == child
            ]
            status = sandbox.describe(child)["TrainingJobStatus"]
            touched = (
                child_copies or status != "InProgress" or REMEDIATION_TAG in training_tags[child]
            )
            children.append(
                SweptJob(
                    JobSpec(child, TUNING_CHILD),
                    SweepVerdict.TOUCHED_COMPLIANT if touched else SweepVerdict.LEFT_TO_PARENT,
                    f"status {status}, copies {child_copies}" if touched else "",
                    child_history,
                    [a["action"] for a in alerts[child]],
                )
            )
    return jobs, children, total_duplicates, total_unconfirmed


def _tuning_verdict(
    spec: JobSpec,
    described: Mapping[str, Mapping[str, Any]],
    copies: list[str],
    alerts: list[dict[str, Any]],
    doubled_actions: list[str],
    history: list[tuple[int, int, str]],
    runs: Sequence[SweepRun],
) -> tuple[SweepVerdict, str]:
    flag = "EnableInterContainerTrafficEncryption"
    original = described[spec.name]
    status = original["HyperParameterTuningJobStatus"]
    actions = Counter(a["action"] for a in alerts)
    if not history and any(r.succeeded for r in runs):
        return SweepVerdict.NEVER_LISTED, f"status {status}"
    if len(copies) > 1:
        return SweepVerdict.DOUBLE_RELAUNCH, f"copies {copies}"
    if "relaunched" in doubled_actions:
        return SweepVerdict.DOUBLE_ALERT, f"alerts {dict(actions)}"
    if not spec.profile.must_relaunch:
        if copies or status != "InProgress":
            return SweepVerdict.TOUCHED_COMPLIANT, f"status {status}, copies {copies}"
        return SweepVerdict.LEFT_RUNNING, ""
    if copies:
        copy = described[copies[0]]
        definition = {k: v for k, v in original["TrainingJobDefinition"].items() if k != flag}
        copied = {k: v for k, v in copy["TrainingJobDefinition"].items() if k != flag}
        differences = sorted(
            k for k in definition.keys() | copied.keys() if definition.get(k) != copied.get(k)
        )
        if (
            differences
            or copy["TrainingJobDefinition"].get(flag) is not True
            or copy["HyperParameterTuningJobStatus"] != "InProgress"
            or status not in STOPPED_STATES
        ):
            return SweepVerdict.BAD_COPY, f"differs in {differences}, original {status}"
        if actions["relaunched"]:
            return SweepVerdict.REMEDIATED, ""
        if actions["failed"]:
            return SweepVerdict.RELAUNCHED_REPORTED, ""
        return SweepVerdict.UNCONFIRMED, f"alerts {dict(actions)}"
    if status == "InProgress":
        if _left_for_next(history, runs):
            return SweepVerdict.LEFT_FOR_NEXT_SWEEP, ""
        return SweepVerdict.SKIPPED_SILENTLY, f"alerts {dict(actions)}"
    if any(a["action"] == "failed" and a.get("relaunch_request") for a in alerts):
        return SweepVerdict.REPORTED, ""
    if _left_for_next(history, runs):
        return SweepVerdict.OWED_TO_NEXT_SWEEP, ""
    return SweepVerdict.STOPPED_SILENTLY, f"status {status}, alerts {dict(actions)}"


def _left_for_next(history: list[tuple[int, int, str]], runs: Sequence[SweepRun]) -> bool:
    """Whether the job's last meeting with a sweep left it for the next one: that run failed on
    it or found it held by another run, and no sweep run that succeeded (and left nothing for
    later) came after it; or no sweep run ever met it and none succeeded (every listing failed)."""
    if not history:
        return not any(r.succeeded for r in runs)
    sweep, attempt, outcome = history[-1]
    if any(
        r.succeeded and not (r.report or {}).get("left_for_next_sweep")
        for r in runs
        if (r.sweep, r.attempt) > (sweep, attempt)
    ):
        return False  # a later sweep run succeeded without meeting it: skipped
    return outcome.startswith("error") or outcome == "in-progress-elsewhere"


# -- the security-group guard ----------------------------------------------------------------------


class SgVerdict(enum.StrEnum):
    COVERED_ALERTED = "covered: the rules back, a security_groups_restored alert"
    COVERED_DEAD_LETTERED = "covered, an event dead-lettered (its alarm speaks)"
    UNCOVERED_ALERTED = "uncovered, a failed alert"
    UNCOVERED_DEAD_LETTERED = "uncovered, an event dead-lettered (its alarm speaks)"
    INTACT = "only unrelated rules revoked: intact, no alert"
    UNMANAGED_LEFT_ALONE = "unmanaged: left alone"
    # violations
    UNCOVERED_SILENT = "uncovered, no failed alert, nothing dead-lettered"
    COVERED_SILENT = "covered, but the removal never reported: no alert, nothing dead-lettered"
    DOUBLE_RULE = "a rule twice in one group"
    TOUCHED_UNMANAGED = "an unmanaged group got rules"
    ALERTED_INTACT = "an alert on a group none of whose IPsec rules was revoked"

    @property
    def acceptable(self) -> bool:
        return self not in {
            SgVerdict.UNCOVERED_SILENT,
            SgVerdict.COVERED_SILENT,
            SgVerdict.DOUBLE_RULE,
            SgVerdict.TOUCHED_UNMANAGED,
            SgVerdict.ALERTED_INTACT,
        }


@dataclass
class GroupPlan:
    group_id: str
    managed: bool
    revoked: list[Any]  # the IPsec needs revoked, one call each
    unrelated: bool  # an unrelated SSH rule revoked too


@dataclass
class JudgedGroup:
    plan: GroupPlan
    verdict: SgVerdict
    detail: str = ""
    outcomes: list[str] = field(default_factory=list)


@dataclass
class SgCampaignReport:
    groups: list[JudgedGroup]
    events: int
    lambda_attempts: int
    dead_letters: int
    transport_duplicates: int
    seconds: float
    injector: FaultInjector | None = None

    @property
    def verdicts(self) -> Counter[SgVerdict]:
        return Counter(g.verdict for g in self.groups)

    @property
    def violations(self) -> list[JudgedGroup]:
        return [g for g in self.groups if not g.verdict.acceptable]

    def figures(self, title: str) -> str:
        managed = sum(1 for g in self.groups if g.plan.managed)
        revoked = sum(len(g.plan.revoked) for g in self.groups if g.plan.managed)
        lines = [
            f"{title}: {managed} managed groups ({revoked} IPsec rules revoked, one call each), "
            f"{len(self.groups) - managed} unmanaged; {self.events} events, "
            f"{self.lambda_attempts} handler runs ({self.lambda_attempts - self.events} retries), "
            f"{self.dead_letters} dead-lettered; {self.seconds:.1f} s wall",
        ]
        lines += _fault_lines(self.injector)
        outcomes = Counter(o for g in self.groups for o in g.outcomes)
        lines.append(
            "  handler outcomes: " + ", ".join(f"{k} {n}" for k, n in sorted(outcomes.items()))
        )
        lines.append("  end states:")
        for verdict, n in sorted(
            self.verdicts.items(), key=lambda kv: (not kv[0].acceptable, -kv[1])
        ):
            marker = "" if verdict.acceptable else "  <-- VIOLATION"
            lines.append(f"    {n:5d}  {verdict.value}{marker}")
        lines.append(f"  SNS transport duplicates: {self.transport_duplicates}")
        for group in self.violations[:10]:
            lines.append(
                f"    {group.plan.group_id}: {group.verdict.value} ({group.detail}); "
                f"outcomes {group.outcomes}"
            )
        return "\n".join(lines)


SSH = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.20.0.0/16"}]}


def deploy_sg_guard(sandbox: GuardSandbox, setenv: Callable[[str, str], None]) -> AsyncLambda:
    """The security-group guard behind its rule, with its own environment and a fresh runtime."""
    from functions.sg_guard.app import lambda_handler
    from ict_guard.runtime import sg_guard_runtime

    for key, value in sandbox.env.function_environment(SG_GUARD).items():
        setenv(key, value)
    sg_guard_runtime.cache_clear()
    return sandbox.add_function(SG_GUARD, lambda_handler, "ict-guard-sg-guard")


def plan_groups(
    sandbox: GuardSandbox, managed: int, unmanaged: int, seed: int
) -> list[GroupPlan]:
    """Create the groups (the test's own, unfaulted calls): each with no rule but the four IPsec
    ones and an SSH rule; the managed ones tagged. Then decide, seeded, what the admin revokes:
    a non-empty set of IPsec rules for most groups, only the SSH rule for some."""
    from ict_guard.jobs import MANAGED_TAG
    from ict_guard.security_groups import IPSEC_NEEDS, Direction, self_referencing_permission

    rng = random.Random(seed)
    ec2 = sandbox.ec2
    plans = []
    for index in range(managed + unmanaged):
        is_managed = index < managed
        group_id = ec2.create_security_group(
            GroupName=f"campaign-{seed}-{index}", Description="campaign", VpcId=sandbox.env.vpc_id
        )["GroupId"]
        ec2.revoke_security_group_egress(
            GroupId=group_id,
            IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
        )
        if is_managed:
            ec2.create_tags(Resources=[group_id], Tags=[{"Key": MANAGED_TAG, "Value": "true"}])
        for direction in Direction:
            permissions = [
                self_referencing_permission(group_id, need)
                for need in IPSEC_NEEDS
                if need.direction is direction
            ]
            if direction is Direction.INGRESS:
                ec2.authorize_security_group_ingress(
                    GroupId=group_id, IpPermissions=[*permissions, SSH]
                )
            else:
                ec2.authorize_security_group_egress(GroupId=group_id, IpPermissions=permissions)
        if rng.random() < 0.15:
            revoked: list[Any] = []
        else:
            revoked = rng.sample(list(IPSEC_NEEDS), rng.randint(1, len(IPSEC_NEEDS)))
        unrelated = not revoked or rng.random() < 0.3
        plans.append(GroupPlan(group_id, is_managed, revoked, unrelated))
    lose_events(sandbox, SG_GUARD)  # the setup is not part of the experiment
    return plans


def run_sg_campaign(
    sandbox: GuardSandbox,
    function: AsyncLambda,
    plans: Sequence[GroupPlan],
    *,
    seed: int,
    injector: FaultInjector | None = None,
) -> SgCampaignReport:
    """The admin's revokes (interleaved over the groups, seeded), then every event through the
    real handler with Lambda's retries, then the verdict on every group."""
    from ict_guard.security_groups import Direction, self_referencing_permission

    admin = sandbox.iam_user_session(f"network-admin-{seed}").client("ec2")
    calls: list[Callable[[], Any]] = []
    for plan in plans:
        for need in plan.revoked:
            permission = self_referencing_permission(plan.group_id, need)
            revoke = (
                admin.revoke_security_group_ingress
                if need.direction is Direction.INGRESS
                else admin.revoke_security_group_egress
            )
            calls.append(partial(revoke, GroupId=plan.group_id, IpPermissions=[permission]))
        if plan.unrelated:
            revoke_ssh = admin.revoke_security_group_ingress
            calls.append(partial(revoke_ssh, GroupId=plan.group_id, IpPermissions=[SSH]))
    random.Random(seed).shuffle(calls)

    started = time.perf_counter()
    for call in calls:
        call()
    handler = function.handler
    if injector is not None:
        # Labelled by the group's place in the plan, not its ID (random): the draws repeat.
        index = {plan.group_id: f"group {i}" for i, plan in enumerate(plans)}

        def labelled(event: Any, context: Any) -> Any:
            injector.label = index.get(group_of(event) or "", group_of(event))
            try:
                return handler(event, context)
            finally:
                injector.label = None

        function.handler = labelled
    target = QueueTarget(sandbox.sqs, sandbox.env.target_queue_urls[SG_GUARD], function)
    try:
        invocations = target.drain()
    finally:
        function.handler = handler
    seconds = time.perf_counter() - started
    if injector is not None:
        injector.enabled = False
    report = judge_groups(sandbox, plans, invocations)
    report.seconds, report.injector = seconds, injector
    return report


def group_of(event: Any) -> str | None:
    return ((event or {}).get("detail") or {}).get("requestParameters", {}).get("groupId")


def judge_groups(
    sandbox: GuardSandbox, plans: Sequence[GroupPlan], invocations: Sequence[Any]
) -> SgCampaignReport:
    from ict_guard.security_groups import IPSEC_NEEDS, Direction
    from ict_guard.sg_guard import needs_to_restore

    alerts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for alert in sandbox.alerts():
        alert.pop("_attributes", None)
        alerts[alert["resource"]["name"]].append(alert)
    dead = Counter(group_of(record["requestPayload"]) for record in sandbox.dead_letters())
    outcomes: dict[str, list[str]] = defaultdict(list)
    for invocation in invocations:
        outcomes[group_of(invocation.event) or "?"].append(
            "dead-lettered"
            if invocation.dead_lettered
            else str((invocation.result or {}).get("outcome"))
        )
    judged = []
    duplicates_total = 0
    for plan in plans:
        group = sandbox.group(plan.group_id)
        rules = sandbox.ec2.describe_security_group_rules(
            Filters=[{"Name": "group-id", "Values": [plan.group_id]}]
        )["SecurityGroupRules"]
        shapes = Counter(
            (
                r["IsEgress"],
                r["IpProtocol"],
                r.get("FromPort"),
                r.get("ToPort"),
                (r.get("ReferencedGroupInfo") or {}).get("GroupId"),
                r.get("CidrIpv4"),
            )
            for r in rules
        )
        twice = [shape for shape, n in shapes.items() if n > 1]
        missing = needs_to_restore(group, set(Direction))
        group_alerts = alerts[plan.group_id]
        duplicates, _, _ = alert_copies(group_alerts)
        duplicates_total += duplicates
        actions = Counter(a["action"] for a in group_alerts)
        dead_lettered = dead[plan.group_id] > 0
        if twice:
            verdict, detail = SgVerdict.DOUBLE_RULE, f"{twice}"
        elif not plan.managed:
            verdict, detail = (
                (SgVerdict.TOUCHED_UNMANAGED, f"missing {len(missing)} of {len(IPSEC_NEEDS)}")
                if len(missing) != len(plan.revoked) or group_alerts
                else (SgVerdict.UNMANAGED_LEFT_ALONE, "")
            )
        elif not plan.revoked:
            verdict, detail = (
                (SgVerdict.ALERTED_INTACT, f"alerts {dict(actions)}")
                if group_alerts or missing
                else (SgVerdict.INTACT, "")
            )
        elif not missing:
            if actions["security_groups_restored"]:
                verdict, detail = SgVerdict.COVERED_ALERTED, ""
            elif dead_lettered:
                verdict, detail = SgVerdict.COVERED_DEAD_LETTERED, ""
            else:
                verdict, detail = SgVerdict.COVERED_SILENT, f"alerts {dict(actions)}"
        elif actions["failed"]:
            verdict, detail = SgVerdict.UNCOVERED_ALERTED, ""
        elif dead_lettered:
            verdict, detail = SgVerdict.UNCOVERED_DEAD_LETTERED, ""
        else:
            verdict, detail = (
                SgVerdict.UNCOVERED_SILENT,
                f"missing {[n.describe() for n in missing]}, alerts {dict(actions)}",
            )
        judged.append(JudgedGroup(plan, verdict, detail, outcomes[plan.group_id]))
    return SgCampaignReport(
        groups=judged,
        events=len(invocations),
        lambda_attempts=sum(i.attempts for i in invocations),
        dead_letters=sum(dead.values()),
        transport_duplicates=duplicates_total,
        seconds=0.0,
    )
