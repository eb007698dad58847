"""Which rotation an invocation asks for, and the key.rotated event it leaves behind."""

from enum import StrEnum
from typing import Any

from echo_shared.identity.events import PLATFORM_TENANT, SYSTEM, IdentityEvent, IdentityEvents
from echo_shared.identity.rotation import KeyRotator, RotationReport


class RotationAction(StrEnum):
    SCHEDULED = "scheduled"
    ROTATE_NOW = "rotate_now"
    ENSURE = "ensure"


class InvalidRotationRequest(ValueError):
    pass


def requested_action(event: dict[str, Any]) -> tuple[RotationAction, bool]:
    """EventBridge's scheduled event, or a manual `{"action": ..., "compromised": bool}` invoke."""
    if event.get("detail-type") == "Scheduled Event" and event.get("source") == "aws.events":
        return RotationAction.SCHEDULED, False
    try:
        action = RotationAction(event.get("action", ""))
    except ValueError:
        raise InvalidRotationRequest(
            "expected a scheduled event or an action: scheduled|rotate_now|ensure"
        ) from None
    compromised = event.get("compromised", False)
    if not isinstance(compromised, bool) or (compromised and action is not RotationAction.ROTATE_NOW):
        raise InvalidRotationRequest("compromised is a boolean, for rotate_now only")
    return action, compromised


def rotate(rotator: KeyRotator, action: RotationAction, *, compromised: bool) -> RotationReport:
    match action:
        case RotationAction.SCHEDULED:
            return rotator.run_scheduled()
        case RotationAction.ROTATE_NOW:
            return rotator.rotate_now(compromised=compromised)
        case RotationAction.ENSURE:
            return rotator.ensure_current()


def record(events: IdentityEvents, report: RotationReport, action: RotationAction, request_id: str) -> None:
    if not report.changed:
        return
    events.emit(
        IdentityEvent.KEY_ROTATED,
        tenant=PLATFORM_TENANT,
        actor=SYSTEM,
        resource="signing-keys",
        request_id=request_id,
        data={"trigger": action.value, **{k: list(v) for k, v in report.as_dict().items()}},
    )
