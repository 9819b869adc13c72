"""SageMaker's answers to the copy, after the stop: whether a job found under the copy's name is
the guard's own copy, and the fallbacks tried once each when SageMaker refuses the copy.

Used by the executor (executor.py); each fallback returns None where it would change nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ict_guard.jobs import CLONE_NAME, GUARD_TAG_PREFIX, RELAUNCHED_FROM_TAG, JobApi


def is_guard_copy(name: str, tags: Mapping[str, str]) -> bool:
    """Whether a job is the guard's own encrypted copy: its link tag, or (a copy of an original
    with 50 tags has no room for the tag) its deterministic name."""
    return RELAUNCHED_FROM_TAG in tags or bool(CLONE_NAME.search(name))


def is_own_copy(
    api: JobApi, existing: Mapping[str, Any], tags: Mapping[str, str], request: Mapping[str, Any], original: str
) -> bool:
    """Whether the job found under the copy's (deterministic, guessable) name is the guard's copy
    of `original`: its link tag says so, or, for a copy without room for the tag, every spec is
    encrypted and runs the request's role and image (anyone may create a job under that name first)."""
    if RELAUNCHED_FROM_TAG in tags:
        return tags[RELAUNCHED_FROM_TAG] == original
    theirs = api.specs(existing)
    encrypted = bool(theirs) and all(api.encrypted(d) for d in theirs)
    return encrypted and _signature(api, request) == _signature(api, existing)


def _signature(api: JobApi, job: Mapping[str, Any]) -> list[tuple[Any, Any]]:
    """(role, image) of each spec: what the job runs, and as whom."""
    return [(spec.get("RoleArn") or job.get("RoleArn"), _image(spec)) for spec in api.specs(job)]


def _image(spec: Mapping[str, Any]) -> Any:
    algorithm = spec.get("AlgorithmSpecification") or {}
    application = spec.get("AppSpecification") or {}  # a processing job's container
    return algorithm.get("TrainingImage") or algorithm.get("AlgorithmName") or application.get("ImageUri")


# Tried once each, in this order, cumulatively, when SageMaker refuses the copy after the stop.


def without_warm_start(request: Mapping[str, Any]) -> dict[str, Any] | None:
    if "WarmStartConfig" not in request:
        return None
    return {k: v for k, v in request.items() if k != "WarmStartConfig"}


def without_metric_definitions(request: Mapping[str, Any]) -> dict[str, Any] | None:
    """The request without AlgorithmSpecification.MetricDefinitions anywhere (the service filled
    them in for an algorithm this guard did not recognise), or None when it has none."""
    copy = dict(request)
    changed = False

    def strip(definition: Mapping[str, Any]) -> dict[str, Any]:
        nonlocal changed
        algorithm = definition.get("AlgorithmSpecification") or {}
        if "MetricDefinitions" not in algorithm:
            return dict(definition)
        changed = True
        return {
            **definition,
            "AlgorithmSpecification": {k: v for k, v in algorithm.items() if k != "MetricDefinitions"},
        }

    if "TrainingJobDefinition" in copy:
        copy["TrainingJobDefinition"] = strip(copy["TrainingJobDefinition"])
    elif "TrainingJobDefinitions" in copy:
        copy["TrainingJobDefinitions"] = [strip(d) for d in copy["TrainingJobDefinitions"]]
    else:
        copy = strip(copy)
    return copy if changed else None


def without_guard_tag(request: Mapping[str, Any]) -> dict[str, Any] | None:
    tags = request.get("Tags") or []
    kept = [t for t in tags if not str(t.get("Key", "")).startswith(GUARD_TAG_PREFIX)]
    if len(kept) == len(tags):
        return None
    return {**request, "Tags": kept}


Fallback = Callable[[Mapping[str, Any]], "dict[str, Any] | None"]
# (what it gives up, the transformation); each returns None where it would change nothing.
FALLBACKS: tuple[tuple[str, Fallback], ...] = (
    ("without the warm start", without_warm_start),
    ("without the metric definitions SageMaker filled in", without_metric_definitions),
    (f"without the guard's {RELAUNCHED_FROM_TAG} tag", without_guard_tag),
)
