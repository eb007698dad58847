"""PynamoDB plumbing shared by the adapters: models bound to table names at run time.

Table names come from settings, so model classes are created per adapter instead of reading the
environment at import time. Host and region are left to botocore, which honours AWS_ENDPOINT_URL.
"""

from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import PynamoDBException
from pynamodb.models import Model

THROTTLING_ERROR_CODES = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)


def bind_table[M: Model](model: type[M], table_name: str) -> type[M]:
    """A subclass of `model` whose Meta points at `table_name`."""
    meta = type("Meta", (), {"table_name": table_name})
    return type(model.__name__, (model,), {"Meta": meta, "__module__": model.__module__})


def is_throttling(exc: PynamoDBException) -> bool:
    return exc.cause_response_code in THROTTLING_ERROR_CODES


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
