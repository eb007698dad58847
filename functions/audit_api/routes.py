"""Routes only compose dependencies, call one logic function and shape the response."""

from typing import Annotated

from echo_shared.observability import count, get_logger
from fastapi import APIRouter, Path, Query

from audit_api.dependencies import AuditReader, CurrentCaller, Jobs, LogReader, May, RequestId, Verifier
from audit_api.logic import (
    get_verification,
    list_audit_events,
    list_logs,
    start_verification,
    verify_tenant_chain,
)
from audit_api.schemas import (
    AuditEventsPage,
    ErrorBody,
    ListParams,
    LogsPage,
    VerificationJobOut,
    VerifyOut,
    VerifyParams,
)

_ERRORS: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorBody} for status in (400, 401, 403, 404, 422, 500, 503)
}

# Job ids are UUIDs (new_job); anything else is a 422 without a store read.
JOB_ID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

router = APIRouter(responses=_ERRORS)


@router.get("/audit/events")
def get_audit_events(
    caller: CurrentCaller, may: May, params: Annotated[ListParams, Query()], reader: AuditReader
) -> AuditEventsPage:
    return AuditEventsPage.from_page(list_audit_events(reader, caller, may, params.to_query()))


@router.get("/audit/verify")
def get_audit_verify(
    caller: CurrentCaller, may: May, params: Annotated[VerifyParams, Query()], verifier: Verifier
) -> VerifyOut:
    result = verify_tenant_chain(verifier, caller, may, params.to_range())
    count("AuditChainVerifications")
    if not result.ok:
        # Alarm on this metric: a broken chain means tampering or data loss.
        count("AuditChainTamperDetected")
        get_logger().error(
            "audit chain verification failed",
            extra={
                "tenant": caller.tenant,
                "problem": result.problem,
                "first_bad_seq": result.first_bad_seq,
            },
        )
    return VerifyOut.from_result(result)


@router.post("/audit/verifications", status_code=202)
def post_audit_verification(
    caller: CurrentCaller, may: May, jobs: Jobs, request_id: RequestId
) -> VerificationJobOut:
    """Start verifying the whole chain; poll `GET /audit/verifications/{id}` for progress and result."""
    job = start_verification(jobs, caller, may, request_id=request_id)
    count("AuditVerificationJobsStarted")
    return VerificationJobOut.from_job(job)


@router.get("/audit/verifications/{job_id}")
def get_audit_verification(
    caller: CurrentCaller, may: May, jobs: Jobs, job_id: Annotated[str, Path(pattern=JOB_ID_PATTERN)]
) -> VerificationJobOut:
    return VerificationJobOut.from_job(get_verification(jobs, caller, may, job_id))


@router.get("/logs")
def get_logs(
    caller: CurrentCaller, may: May, params: Annotated[ListParams, Query()], logs: LogReader
) -> LogsPage:
    return LogsPage.from_page(list_logs(logs, caller, may, params.to_query()))
