"""Security-group guard: EventBridge "AWS API Call via CloudTrail" events for EC2 calls that
remove or change security-group rules."""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from ict_guard.runtime import sg_guard_runtime

logger = Logger()
metrics = Metrics()
# X-Ray patches only botocore: the guard calls AWS through nothing else (see job_guard/app.py).
tracer = Tracer(patch_modules=("botocore",))


# The correlation id (the CloudTrail eventID) is set once the event is validated: see intake.admit.
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return sg_guard_runtime().handle(event, context)
