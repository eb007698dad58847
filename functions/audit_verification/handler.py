"""SQS (its own queue, one message per invocation) -> the next pages of one verification job.

A message that can never succeed (not a job message) goes to the job queue's DLQ at once with the
reason attached (echo_shared.dead_letters; if the DLQ refuses it, it fails and SQS redrives it); a
store, checkpoint or bus failure sends the message back (partial batch response), and the queue's
redrive policy moves it to the DLQ after repeated failures. Logs carry tenant, job id and seqs only.
"""

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from echo_shared.audit import AuditStoreThrottled, CheckpointError
from echo_shared.audit.verification_queue import InvalidJobMessage, read_job_message
from echo_shared.dead_letters import reject_poison
from echo_shared.events import PublishFailed
from echo_shared.observability import count, get_logger, lambda_entrypoint

from audit_verification.dependencies import get_dead_letters, get_dependencies, get_settings
from audit_verification.logic import advance_job

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@lambda_entrypoint(settings=get_settings)
def lambda_handler(event: dict[str, Any], context: "LambdaContext") -> PartialItemFailureResponse:
    logger = get_logger()
    failed: list[str] = []
    for record in event.get("Records", []):
        message_id, body = str(record.get("messageId", "")), str(record.get("body", ""))
        try:
            tenant, job_id = read_job_message(body)
        except InvalidJobMessage as exc:
            if not reject_poison(
                get_dead_letters(),
                message_id=message_id,
                body=body,
                reason=str(exc),
                metric="AuditVerificationPoisonMessages",
            ):
                failed.append(message_id)
            continue
        try:
            job = advance_job(tenant, job_id, get_dependencies())
        except (AuditStoreThrottled, CheckpointError, PublishFailed) as exc:
            logger.warning(
                "verification job step failed; it resumes from its last saved page",
                extra={"tenant": tenant, "job_id": job_id, "error": type(exc).__name__},
            )
            failed.append(message_id)
            continue
        if job is not None and job.result is not None:
            count("AuditVerificationJobsFinished")
            extra = {"tenant": tenant, "job_id": job_id, "ok": job.result.ok, "checked": job.checked}
            if job.result.ok:
                logger.info("verification job finished", extra=extra)
            else:
                # Alarm on this metric (as for /audit/verify): tampering or data loss.
                count("AuditChainTamperDetected")
                logger.error(
                    "verification job found the chain broken",
                    extra=extra | {"problem": job.result.problem, "first_bad_seq": job.result.first_bad_seq},
                )
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}
