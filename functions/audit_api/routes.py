"""Routes only compose dependencies, call one logic function and shape the response."""

from typing import Annotated

from echo_shared.observability import count, get_logger
from fastapi import APIRouter, Query

from audit_api.dependencies import AuditReader, CurrentCaller, LogReader, May, Verifier
from audit_api.queries import list_audit_events, list_logs, verify_tenant_chain
from audit_api.schemas import AuditEventsPage, ErrorBody, ListParams, LogsPage, VerifyOut, VerifyParams

_ERRORS: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorBody} for status in (400, 401, 403, 422, 500, 503)
}

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


@router.get("/logs")
def get_logs(
    caller: CurrentCaller, may: May, params: Annotated[ListParams, Query()], logs: LogReader
) -> LogsPage:
    return LogsPage.from_page(list_logs(logs, caller, may, params.to_query()))
