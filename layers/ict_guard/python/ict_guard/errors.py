"""AWS errors mapped to the guard's outcomes, in one place.

Only "the resource is gone" ends quietly. Everything else that botocore's retries did not absorb
(throttling, 5xx, timeouts) is raised, so that Lambda retries and the dead-letter queue keeps it.
"""

from __future__ import annotations

from botocore.exceptions import ClientError


class JobGone(Exception):
    """The job the event names does not exist (any more) in this account and region."""


class JobBusy(Exception):
    """The job's idempotency record is INPROGRESS: raised so that Lambda retries once it expires."""


class CopyRefused(Exception):
    """SageMaker refused the Create* request of the encrypted copy (ValidationException): the
    request, not the moment, is wrong; repeating it fails the same way. `fallbacks_help`: False
    when changing the request cannot help (a taken name, the account's quota)."""

    def __init__(self, message: str, *, fallbacks_help: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.fallbacks_help = fallbacks_help


class OwedWorkInProgress(Exception):
    """A resume met a remediation whose run may still be going (its ledger entry is younger than
    the function's timeout): raised so that the resume is tried again later, not run beside it."""


class CapacityHeld(Exception):
    """Create* was refused with ResourceLimitExceeded (an instance quota of the account)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CopyWaitsForCapacity(Exception):
    """The copy needs the instances its stopping original still holds: raised so that Lambda
    retries once the stop has released them (not a failure: no failed alert)."""


class NotStoppable(Exception):
    """Stop* was refused because the job is not InProgress (ValidationException)."""


class DescribedOtherJob(Exception):
    """Describe answered with a job of another name: act on nothing."""


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


# SageMaker answers Describe* of an unknown name with ValidationException ("Requested resource
# not found"); the names the guard describes were validated against the API's name pattern
# first, so for Describe* that code means "not found" without reading the message text.
_SAGEMAKER_NOT_FOUND = {"ResourceNotFound", "ValidationException"}


def is_sagemaker_describe_not_found(exc: ClientError) -> bool:
    return error_code(exc) in _SAGEMAKER_NOT_FOUND


class SecurityGroupGone(Exception):
    """The security group the event names does not exist (any more)."""


# EC2's codes for a group that does not exist: the ID names no group, or a group name names no
# group of the default VPC. (Malformed IDs never reach EC2: the event parser refuses them.)
_SECURITY_GROUP_NOT_FOUND = {"InvalidGroup.NotFound", "InvalidGroupId.NotFound"}


def is_security_group_not_found(exc: ClientError) -> bool:
    return error_code(exc) in _SECURITY_GROUP_NOT_FOUND
