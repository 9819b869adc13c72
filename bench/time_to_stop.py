"""Figure 8: time to the stop, side by side with Cloud Custodian's CloudTrail-mode policy.

Both sides handle the same kind of event (an unencrypted, 2-instance training job just created)
warm, in an account with no history (every earlier job is removed from moto's backend before each
run), with a modelled round trip of `ROUND_TRIP_SECONDS` per HTTP attempt (bench/calls.py: slept in
`before-send`, on the thread that makes the call, for both sides). *Time to the stop*: from the
handler's entry to the Stop* request being sent (its `before-call`).

The guard runs its real handler (`functions/job_guard/app.py`) in `stop` mode (what Custodian's
policy does) and, for its second target, in `relaunch` mode. Custodian's side is a model: bare
boto3 clients making the calls its policy makes, in its order. From its source
(cloud-custodian/cloud-custodian):
- `c7n/policy.py`, CloudTrailMode: `resolve_resources(event)` takes the ids from the event and
  calls `resource_manager.get_resources(ids)`, then the filters, then the actions;
- `c7n/query.py`, `ResourceQuery.get`: a resource type without `filter_name` has no server-side
  lookup by id, so it enumerates the whole population (`enum_spec`, every page,
  `build_full_result()`) and filters by id client-side; `QueryResourceManager.get_resources` then
  augments the matches;
- `c7n/resources/sagemaker.py`, `SagemakerJob` (`sagemaker-job`): `enum_spec` ListTrainingJobs,
  no `filter_name`, `detail_spec` DescribeTrainingJob, `augment` adds ListTags per job;
  `SagemakerJobStop` (`stop`) calls StopTrainingJob.
So, with no history: ListTrainingJobs (one page), DescribeTrainingJob, ListTags, StopTrainingJob,
one after the other: the four calls the issue names. Not modelled (in Custodian's favour):
its policy and session set-up, a CloudWatch PutMetricData its Lambda context may flush, and the
ListTrainingJobs pages an account with history adds (the guard's calls do not grow with it).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import boto3

from bench.account import BenchAccount, LambdaContext, _training_backend
from bench.calls import Call, CallLog
from bench.scenarios import Path, path_by_key, start_subject
from bench.stats import Summary

ROUND_TRIP_SECONDS = 0.025
TARGET_RATIO = 0.75
MAX_ROUNDS_BEFORE_STOP = 2  # on the relaunch path
STOP_OPERATION = "StopTrainingJob"
CUSTODIAN = "custodian"
PATH_KEYS = ("stop", "relaunch")


@dataclass
class StopRun:
    seconds: float  # handler entry -> Stop* sent
    calls: list[Call]  # in canonical order (CallLog.ordered), rounds set
    entry: float

    @property
    def stop(self) -> Call:
        return next(c for c in self.calls if c.operation == STOP_OPERATION)

    @property
    def rounds_before_stop(self) -> int:
        return self.stop.round - 1

    def rounds(self) -> list[list[str]]:
        rounds: list[list[str]] = []
        for call in self.calls:
            while len(rounds) < call.round:
                rounds.append([])
            rounds[call.round - 1].append(call.label())
        return rounds


@dataclass
class PathTimes:
    key: str
    title: str
    runs: list[StopRun] = field(default_factory=list)

    @property
    def seconds(self) -> Summary:
        return Summary.of([r.seconds for r in self.runs])

    @property
    def typical(self) -> StopRun:
        """The run whose time to the stop is the median one (its timeline is drawn)."""
        ranked = sorted(self.runs, key=lambda r: r.seconds)
        return ranked[len(ranked) // 2]


@dataclass
class TimeToStopResult:
    repeats: int
    round_trip: float
    paths: dict[str, PathTimes] = field(default_factory=dict)  # "stop", "relaunch", CUSTODIAN

    def ratios(self, key: str = "stop") -> Summary:
        """The guard's time over Custodian's, per interleaved pair."""
        pairs = zip(self.paths[key].runs, self.paths[CUSTODIAN].runs, strict=False)
        return Summary.of([g.seconds / c.seconds for g, c in pairs])

    def met(self) -> bool:
        return self.ratios().median <= TARGET_RATIO

    def relaunch_rounds_met(self) -> bool:
        return all(r.rounds_before_stop <= MAX_ROUNDS_BEFORE_STOP for r in self.paths["relaunch"].runs)


def measure_time_to_stop(
    account: BenchAccount, *, repeats: int = 15, round_trip: float = ROUND_TRIP_SECONDS
) -> TimeToStopResult:
    """`repeats` interleaved pairs (guard, Custodian's model) on the stop path, and `repeats` runs
    of the guard's relaunch path; one unmeasured pair first (warm-up)."""
    result = TimeToStopResult(repeats, round_trip)
    custodian = CustodianModel(boto3.session.Session(region_name=account.session.region_name))
    result.paths[CUSTODIAN] = PathTimes(CUSTODIAN, "Cloud Custodian's policy (model)")
    for key in PATH_KEYS:
        path = path_by_key(key)
        result.paths[key] = PathTimes(key, path.title)
        for i in range(repeats + 1):
            sides = ["guard", CUSTODIAN] if key == "stop" else ["guard"]
            if i % 2:
                sides.reverse()  # interleaved: machine noise hits both alike
            for side in sides:
                if side == CUSTODIAN:
                    measured = _custodian_run(account, custodian, f"tts-{key}-{i:02d}c", round_trip)
                else:
                    measured = _guard_run(account, path, f"tts-{key}-{i:02d}g", round_trip)
                if i:
                    result.paths[side if side == CUSTODIAN else key].runs.append(measured)
    return result


def _no_history(keep: str) -> None:
    """Only the subject in the account: every other training job leaves moto's backend."""
    jobs = _training_backend().training_jobs
    for name in [n for n in jobs if n != keep]:
        del jobs[name]


def _guard_run(account: BenchAccount, path: Path, tag: str, round_trip: float) -> StopRun:
    from functions.job_guard.app import lambda_handler

    subject, event = start_subject(account, path, tag)
    _no_history(subject.name)
    context = LambdaContext(aws_request_id=str(uuid.uuid4()))
    with account.recorder.window(latency=round_trip) as log:
        entry = time.perf_counter()
        result = lambda_handler(event, context)
    account.routed_events()  # what the guard's own calls routed back: not part of this event
    if not isinstance(result, dict) or result.get("outcome") not in ("stop", "relaunch"):
        raise AssertionError(f"{path.key}: handler returned {result!r}")
    return _stop_run(log.guard_calls, entry)  # rounds counted from the handler's entry


def _custodian_run(
    account: BenchAccount, custodian: CustodianModel, tag: str, round_trip: float
) -> StopRun:
    subject, event = start_subject(account, path_by_key("stop"), tag)  # its event, not handled
    _no_history(subject.name)
    with account.recorder.window(latency=round_trip) as log:
        entry = time.perf_counter()
        custodian.handle(event)
    account.routed_events()
    calls = CallLog.ordered(log.unattributed, log.opened)
    if [c.operation for c in calls] != list(CustodianModel.OPERATIONS):
        raise AssertionError(f"the model made {[c.label() for c in calls]}")
    return _stop_run(calls, entry)


def _stop_run(calls: list[Call], entry: float) -> StopRun:
    stops = [c for c in calls if c.operation == STOP_OPERATION]
    if len(stops) != 1 or stops[0].sent is None:
        raise AssertionError(f"expected one {STOP_OPERATION}: {[c.label() for c in calls]}")
    return StopRun(stops[0].sent - entry, calls, entry)


class CustodianModel:
    """The calls of Cloud Custodian's CloudTrail-mode `sagemaker-job` policy with a `stop` action,
    for one CreateTrainingJob event, in its order (the module docstring says where each comes
    from). Its clients have no guard user agent: the recorder counts them as unattributed."""

    OPERATIONS = ("ListTrainingJobs", "DescribeTrainingJob", "ListTags", STOP_OPERATION)

    def __init__(self, session: boto3.session.Session) -> None:
        self._session = session
        self._sagemaker: Any = None

    def handle(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        if self._sagemaker is None:  # made on the first event, outside any measured window
            self._sagemaker = self._session.client("sagemaker")
        sagemaker = self._sagemaker
        # mode `ids`: the ARN in the event's responseElements
        arn = event["detail"]["responseElements"]["trainingJobArn"]
        # ResourceQuery.get: no filter_name, so the whole population, every page, filtered here
        pages = sagemaker.get_paginator("list_training_jobs").paginate().build_full_result()
        jobs = [j for j in pages.get("TrainingJobSummaries", []) if j["TrainingJobArn"] == arn]
        for job in jobs:  # DescribeSource.augment (detail_spec), then SagemakerJob.augment
            job.update(sagemaker.describe_training_job(TrainingJobName=job["TrainingJobName"]))
            job["Tags"] = sagemaker.list_tags(ResourceArn=job["TrainingJobArn"])["Tags"]
        # the policy's filters (EnableInterContainerTrafficEncryption false, InstanceCount > 1) read
        # what augment brought; then SagemakerJobStop
        matched = [
            j
            for j in jobs
            if not j.get("EnableInterContainerTrafficEncryption")
            and int((j.get("ResourceConfig") or {}).get("InstanceCount") or 0) > 1
        ]
        for job in matched:
            sagemaker.stop_training_job(TrainingJobName=job["TrainingJobName"])
        return matched


def timeline(run: StopRun, *, width: int = 64) -> list[str]:
    """The calls of one run as bars on a common time axis (ms from the handler's entry), calls
    that overlap drawn overlapping; `S` marks the moment the stop was sent."""
    ends = [c.answered or c.sent or run.entry for c in run.calls]
    span = max(ends) - run.entry or 1.0
    scale = span / width
    label_width = max(len(c.label()) for c in run.calls)
    lines = [f"{'call':<{label_width}}  round  {'ms':>9}  0{' ' * (width - 1)}{span * 1e3:.0f} ms"]
    for call in run.calls:
        start = (call.sent or run.entry) - run.entry
        end = (call.answered or call.sent or run.entry) - run.entry
        left = int(start / scale)
        length = max(1, int(end / scale) - left)
        bar = " " * left + ("S" if call.operation == STOP_OPERATION else "") + "=" * length
        bar = bar[: width + 1]
        lines.append(
            f"{call.label():<{label_width}}  {call.round:>5}  {start * 1e3:>4.0f}-{end * 1e3:<4.0f}  |{bar}"
        )
    return lines
