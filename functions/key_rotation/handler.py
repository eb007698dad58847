"""EventBridge schedule (hourly) or manual invoke -> one rotation run; each step commits with its
key.rotated event."""

from typing import TYPE_CHECKING, Any

from echo_shared.observability import get_logger, lambda_entrypoint

from key_rotation.dependencies import get_events, get_rotator, get_settings
from key_rotation.logic import announcer, requested_action, rotate

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@lambda_entrypoint(settings=get_settings)
def lambda_handler(event: dict[str, Any], context: "LambdaContext") -> dict[str, Any]:
    action, compromised = requested_action(event)
    announce = announcer(get_events(), action, context.aws_request_id)
    report = rotate(get_rotator(), action, compromised=compromised, announce=announce)
    get_logger().info("rotation step done", extra={"action": action.value, "report": report.as_dict()})
    return {"action": action.value, **report.as_dict()}
