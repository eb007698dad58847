"""In-memory fake of the dead-letter port; `failing` makes the DLQ refuse, as an outage would."""

from dataclasses import dataclass, field

from echo_shared.dead_letters import DeadLetterError


@dataclass
class InMemoryDeadLetterSink:
    messages: list[dict[str, str]] = field(default_factory=list)
    failing: bool = False

    def quarantine(self, *, message_id: str, body: str, reason: str) -> None:
        if self.failing:
            raise DeadLetterError(f"DLQ refused message {message_id}")
        self.messages.append({"message_id": message_id, "body": body, "reason": reason})
