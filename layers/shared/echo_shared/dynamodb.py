"""PynamoDB plumbing shared by the adapters: models bound to table names at run time.

Table names come from settings, so model classes are created per adapter instead of reading the
environment at import time. Host and region are left to botocore, which honours AWS_ENDPOINT_URL.
"""

from collections.abc import Sized

from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.models import Model

THROTTLING_ERROR_CODES = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)


def bind_table[M: Model](model: type[M], table_name: str) -> type[M]:
    """A subclass of `model` whose Meta points at `table_name`."""
    meta = type("Meta", (), {"table_name": table_name})
    return type(model.__name__, (model,), {"Meta": meta, "__module__": model.__module__})


# A cancelled transaction's reason for an item whose condition failed.
CANCELLED_CONDITION = "ConditionalCheckFailed"


def is_throttling(exc: PynamoDBException) -> bool:
    return exc.cause_response_code in THROTTLING_ERROR_CODES


def cancellation_codes(exc: TransactWriteError) -> list[str | None]:
    """Each item's cancellation reason code, in the order PynamoDB sent the items (None: no reason)."""
    return [reason.code if reason else None for reason in exc.cancellation_reasons]


def outbox_for[O](outbox: O | None, events: Sized) -> O | None:
    """The outbox a store writes `events` to in its transaction (ADR 0014); a store built without
    one takes no events."""
    if len(events) and outbox is None:
        raise ValueError("events given to a store built without an outbox")
    return outbox


class EnvelopeAttributes:
    """The event-envelope fields every stored event carries (audit chain records, log entries).

    A mixin for PynamoDB models: the model's metaclass collects inherited attributes.
    """

    event_id = UnicodeAttribute()
    type = UnicodeAttribute()
    actor = UnicodeAttribute()
    action = UnicodeAttribute()
    resource = UnicodeAttribute()
    outcome = UnicodeAttribute()
    occurred_at = UnicodeAttribute()
    request_id = UnicodeAttribute()
    data = UnicodeAttribute()
    producer = UnicodeAttribute(null=True)  # ADR 0016; absent on records from before it
