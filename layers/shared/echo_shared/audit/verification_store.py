"""Verification jobs on DynamoDB: AUDIT_VERIFICATIONS_TABLE (tenant, job_id), expiring after
`JOB_TTL`. Progress is saved conditionally on the `next_seq` it was computed from."""

from datetime import timedelta

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, GetError, PutError
from pynamodb.models import Model

from echo_shared.audit.errors import AuditStoreThrottled
from echo_shared.audit.verification_jobs import JobExists, JobResult, VerificationJob
from echo_shared.dynamodb import bind_table
from echo_shared.timeutil import coerce_utc, format_rfc3339

JOB_TTL = timedelta(days=30)
_CONDITION_FAILED = "ConditionalCheckFailedException"


class VerificationJobItem(Model):
    tenant = UnicodeAttribute(hash_key=True)
    job_id = UnicodeAttribute(range_key=True)
    requested_by = UnicodeAttribute()
    request_id = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    end_seq = NumberAttribute()
    next_seq = NumberAttribute()
    checked = NumberAttribute()
    pages = NumberAttribute()
    expires_at = NumberAttribute()
    result_ok = BooleanAttribute(null=True)
    first_bad_seq = NumberAttribute(null=True)
    problem = UnicodeAttribute(null=True)
    detail = UnicodeAttribute(null=True)
    checkpoint_seq = NumberAttribute(null=True)


class DynamoVerificationJobStore:
    def __init__(self, table_name: str) -> None:
        self._items = bind_table(VerificationJobItem, table_name)

    def create(self, job: VerificationJob) -> None:
        try:
            self._item(job).save(condition=self._items.job_id.does_not_exist())
        except PutError as exc:
            if exc.cause_response_code == _CONDITION_FAILED:
                raise JobExists(job.job_id) from None
            raise AuditStoreThrottled("storing the verification job failed") from exc

    def get(self, tenant: str, job_id: str) -> VerificationJob | None:
        try:
            item = self._items.get(tenant, job_id, consistent_read=True)
        except self._items.DoesNotExist:
            return None
        except GetError as exc:
            raise AuditStoreThrottled("reading the verification job failed") from exc
        return _job(item)

    def save(self, job: VerificationJob, *, expected_next_seq: int) -> bool:
        try:
            self._item(job).save(
                condition=(self._items.next_seq == expected_next_seq) & self._items.result_ok.does_not_exist()
            )
        except PutError as exc:
            if exc.cause_response_code == _CONDITION_FAILED:
                return False
            raise AuditStoreThrottled("saving the verification job failed") from exc
        return True

    def withdraw(self, job: VerificationJob) -> None:
        try:
            self._items(job.tenant, job.job_id).delete(condition=self._items.pages == 0)
        except DeleteError as exc:
            if exc.cause_response_code != _CONDITION_FAILED:
                raise AuditStoreThrottled("withdrawing the verification job failed") from exc

    def _item(self, job: VerificationJob) -> VerificationJobItem:
        result = job.result
        return self._items(
            job.tenant,
            job.job_id,
            requested_by=job.requested_by,
            request_id=job.request_id,
            created_at=format_rfc3339(job.created_at),
            updated_at=format_rfc3339(job.updated_at),
            end_seq=job.end_seq,
            next_seq=job.next_seq,
            checked=job.checked,
            pages=job.pages,
            expires_at=int((job.created_at + JOB_TTL).timestamp()),
            result_ok=None if result is None else result.ok,
            first_bad_seq=None if result is None else result.first_bad_seq,
            problem=None if result is None else result.problem,
            detail=None if result is None else result.detail,
            checkpoint_seq=None if result is None else result.checkpoint_seq,
        )


def _job(item: VerificationJobItem) -> VerificationJob:
    result = None
    if item.result_ok is not None:
        result = JobResult(
            ok=bool(item.result_ok),
            first_bad_seq=None if item.first_bad_seq is None else int(item.first_bad_seq),
            problem=item.problem,
            detail=item.detail or "",
            checkpoint_seq=None if item.checkpoint_seq is None else int(item.checkpoint_seq),
        )
    return VerificationJob(
        tenant=item.tenant,
        job_id=item.job_id,
        requested_by=item.requested_by,
        request_id=item.request_id,
        created_at=coerce_utc(item.created_at),
        updated_at=coerce_utc(item.updated_at),
        end_seq=int(item.end_seq),
        next_seq=int(item.next_seq),
        checked=int(item.checked),
        pages=int(item.pages),
        result=result,
    )
