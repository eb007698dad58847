"""The log store on DynamoDB: LOG_TABLE (tenant, sort_key) with TTL attribute `expires_at`."""

from collections.abc import Iterator

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model

from echo_shared.dynamodb import EnvelopeAttributes, bind_table
from echo_shared.filters import RecordFilter
from echo_shared.logs.entries import LogEntry

_PAGE_SIZE = 100


class LogItem(EnvelopeAttributes, Model):
    tenant = UnicodeAttribute(hash_key=True)
    sort_key = UnicodeAttribute(range_key=True)
    expires_at = NumberAttribute()


class DynamoLogRepository:
    def __init__(self, table_name: str) -> None:
        self._items = bind_table(LogItem, table_name)

    def put_if_absent(self, entry: LogEntry) -> bool:
        item = self._items(
            entry.tenant,
            entry.sort_key,
            expires_at=entry.expires_at,
            event_id=entry.event_id,
            type=entry.type,
            actor=entry.actor,
            action=entry.action,
            resource=entry.resource,
            outcome=entry.outcome,
            occurred_at=entry.occurred_at,
            request_id=entry.request_id,
            data=entry.data,
        )
        try:
            item.save(condition=self._items.sort_key.does_not_exist())
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def query(
        self, tenant: str, filters: RecordFilter, *, after_sort_key: str | None, newest_first: bool
    ) -> Iterator[LogEntry]:
        start_key = None
        if after_sort_key is not None:
            start_key = {"tenant": {"S": tenant}, "sort_key": {"S": after_sort_key}}
        query = self._items.query(
            tenant,
            range_key_condition=self._window(filters),
            filter_condition=self._filter(filters),
            scan_index_forward=not newest_first,
            last_evaluated_key=start_key,
            page_size=_PAGE_SIZE,
        )
        yield from (_to_entry(item) for item in query)

    def _window(self, filters: RecordFilter) -> Condition | None:
        # `since` is inclusive and `until` exclusive: `<until>#...` sorts after `<until>`.
        since, until = filters.since_text, filters.until_text
        if since is not None and until is not None:
            return self._items.sort_key.between(since, until)
        if since is not None:
            return self._items.sort_key >= since
        if until is not None:
            return self._items.sort_key < until
        return None

    def _filter(self, filters: RecordFilter) -> Condition | None:
        combined: Condition | None = None
        for attribute, wanted in (
            (self._items.type, filters.type),
            (self._items.actor, filters.actor),
            (self._items.resource, filters.resource),
        ):
            if wanted is not None:
                condition = attribute == wanted
                combined = condition if combined is None else combined & condition
        return combined


def _to_entry(item: LogItem) -> LogEntry:
    return LogEntry(
        **LogEntry.fields_from(item),
        expires_at=int(item.expires_at),
    )
