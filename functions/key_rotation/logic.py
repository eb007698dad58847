"""Which rotation an invocation asks for, and the key.rotated event each of its steps commits with."""

from enum import StrEnum
from typing import Any

from echo_shared.events import EventEnvelope
from echo_shared.identity.events import PLATFORM_TENANT, SYSTEM, IdentityEvent, IdentityEvents
from echo_shared.identity.rotation import Announce, KeyRotator, RotationReport


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


def rotate(
    rotator: KeyRotator, action: RotationAction, *, compromised: bool, announce: Announce
) -> RotationReport:
    match action:
        case RotationAction.SCHEDULED:
            return rotator.run_scheduled(announce)
        case RotationAction.ROTATE_NOW:
            return rotator.rotate_now(compromised=compromised, announce=announce)
        case RotationAction.ENSURE:
            return rotator.ensure_current(announce)


def announcer(events: IdentityEvents, action: RotationAction, request_id: str) -> Announce:
    """Each step's `key.rotated`, written to the outbox in the step's own transaction (ADR 0014)."""

    def announce(step: RotationReport) -> list[EventEnvelope]:
        return [
            events.build(
                IdentityEvent.KEY_ROTATED,
                tenant=PLATFORM_TENANT,
                actor=SYSTEM,
                resource="signing-keys",
                request_id=request_id,
                data={"trigger": action.value, **{k: list(v) for k, v in step.as_dict().items()}},
            )
        ]

    return announce
