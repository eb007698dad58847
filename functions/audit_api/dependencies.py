"""Typed request dependencies: the caller, its decision point and the adapters (overridable in tests)."""

from typing import Annotated, Any

from echo_shared.audit import AuditChainReader, ChainVerifier
from echo_shared.audit.dynamodb import DynamoAuditChainRepository
from echo_shared.audit.kms import KmsCheckpointSigner
from echo_shared.audit.s3 import S3CheckpointStore
from echo_shared.audit.verification_queue import SqsJobQueue
from echo_shared.audit.verification_store import DynamoVerificationJobStore
from echo_shared.authz import AuthzClient
from echo_shared.authz.caller import Caller, caller_from_event, decide_on_tenant
from echo_shared.authz.runtime import default_client
from echo_shared.lazy import cached_resource
from echo_shared.logs import LogRepository
from echo_shared.logs.dynamodb import DynamoLogRepository
from echo_shared.web import request_id
from fastapi import Depends, Request

from audit_api.logic import DecisionPoint, VerificationJobs
from audit_api.settings import AuditApiSettings


@cached_resource
def get_settings() -> AuditApiSettings:
    return AuditApiSettings.from_env()


@cached_resource
def _audit_chain() -> DynamoAuditChainRepository:
    settings = get_settings()
    return DynamoAuditChainRepository(settings.audit_chain_table, settings.audit_event_ids_table)


@cached_resource
def _log_repository() -> DynamoLogRepository:
    return DynamoLogRepository(get_settings().log_table)


@cached_resource
def _chain_verifier() -> ChainVerifier:
    settings = get_settings()
    return ChainVerifier(
        _audit_chain(),
        S3CheckpointStore(settings.checkpoint_bucket),
        KmsCheckpointSigner(settings.checkpoint_key_id),
        freshness=settings.freshness,
    )


@cached_resource
def _verification_jobs() -> VerificationJobs:
    settings = get_settings()
    return VerificationJobs(
        store=DynamoVerificationJobStore(settings.audit_verifications_table),
        queue=SqsJobQueue(settings.audit_verification_queue_url),
        chain=_audit_chain(),
        checkpoints=S3CheckpointStore(settings.checkpoint_bucket),
    )


def get_verification_jobs() -> VerificationJobs:
    return _verification_jobs()


def get_audit_reader() -> AuditChainReader:
    return _audit_chain()


def get_log_repository() -> LogRepository:
    return _log_repository()


def get_chain_verifier() -> ChainVerifier:
    return _chain_verifier()


def get_current_caller(request: Request) -> Caller:
    """API Gateway invokes these routes only after the Lambda authorizer allowed the token."""
    event: dict[str, Any] = request.scope.get("aws.event") or {}
    return caller_from_event(event)


def get_authz_client() -> AuthzClient:
    return default_client()


def get_decision_point(
    caller: Annotated[Caller, Depends(get_current_caller)],
    authz: Annotated[AuthzClient, Depends(get_authz_client)],
    this_request: Annotated[str, Depends(request_id)],
) -> DecisionPoint:
    """Each route asks the authz library once, in-process; the decision is audited like any other."""
    return lambda action: decide_on_tenant(authz, caller, action, request_id=this_request)


CurrentCaller = Annotated[Caller, Depends(get_current_caller)]
May = Annotated[DecisionPoint, Depends(get_decision_point)]
AuditReader = Annotated[AuditChainReader, Depends(get_audit_reader)]
LogReader = Annotated[LogRepository, Depends(get_log_repository)]
Verifier = Annotated[ChainVerifier, Depends(get_chain_verifier)]
Jobs = Annotated[VerificationJobs, Depends(get_verification_jobs)]
RequestId = Annotated[str, Depends(request_id)]
