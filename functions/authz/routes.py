"""Routes only compose dependencies, call logic and shape the response.

Routes are coroutines although the logic blocks on I/O: a Lambda container serves one request at a
time, so nothing waits on the event loop, while FastAPI would run a plain function (and validate its
answer) in a worker thread, hops that cost more than the decision.
"""

from typing import Annotated

from echo_shared.authz.store import ActivationKind
from fastapi import APIRouter, Query, status

from authz import logic
from authz.dependencies import Administration, Client, CurrentCaller, Entities, RequestId
from authz.schemas import (
    ActivationOut,
    BatchIn,
    BatchOut,
    CheckIn,
    DecisionOut,
    ErrorBody,
    HistoryOut,
    ListIn,
    ListOut,
    PoliciesOut,
    PolicyPutIn,
    PolicyVersionOut,
    ProposalOut,
)

_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 413, 422, 500, 503)
}

router = APIRouter(prefix="/authz", responses=_ERRORS)


@router.post("/check")
async def post_check(
    body: CheckIn, caller: CurrentCaller, client: Client, entities: Entities, request_id: RequestId
) -> DecisionOut:
    return DecisionOut.from_decision(logic.check(client, entities, caller, body, request_id))


@router.post("/batch")
async def post_batch(
    body: BatchIn, caller: CurrentCaller, client: Client, entities: Entities, request_id: RequestId
) -> BatchOut:
    decisions = logic.check_batch(client, entities, caller, body.requests, request_id)
    return BatchOut(decisions=[DecisionOut.from_decision(d) for d in decisions])


@router.post("/list")
async def post_list(
    body: ListIn, caller: CurrentCaller, client: Client, entities: Entities, request_id: RequestId
) -> ListOut:
    return ListOut.from_listing(logic.list_resources(client, entities, caller, body, request_id))


@router.get("/policies", response_model_exclude_none=True)
async def get_policies(
    caller: CurrentCaller,
    client: Client,
    administration: Administration,
    request_id: RequestId,
    version: Annotated[str | None, Query(max_length=12)] = None,
) -> PoliciesOut | PolicyVersionOut:
    logic.authorize_policy_admin(client, caller, request_id)
    if version is not None:
        number = logic.parse_version(version)
        overview = administration.overview(caller.tenant)
        found = administration.version(caller.tenant, number)
        return PolicyVersionOut.from_version(found, active=number == overview.active_version, with_text=True)
    return PoliciesOut.from_overview(administration.overview(caller.tenant))


@router.put("/policies", status_code=status.HTTP_201_CREATED)
async def put_policies(
    body: PolicyPutIn,
    caller: CurrentCaller,
    client: Client,
    administration: Administration,
    request_id: RequestId,
) -> ProposalOut:
    logic.authorize_policy_admin(client, caller, request_id)
    proposal = administration.propose(
        caller.tenant,
        policies=body.policies,
        golden=body.golden_decisions,
        description=body.description,
        actor=caller.actor,
        request_id=request_id,
    )
    return ProposalOut.from_proposal(proposal)


@router.post("/policies/{version}/activate")
async def post_activate(
    version: str, caller: CurrentCaller, client: Client, administration: Administration, request_id: RequestId
) -> ActivationOut:
    activation = logic.move_active_version(
        client, administration, caller, version, ActivationKind.ACTIVATE, request_id
    )
    return ActivationOut.from_activation(activation)


@router.post("/policies/{version}/rollback")
async def post_rollback(
    version: str, caller: CurrentCaller, client: Client, administration: Administration, request_id: RequestId
) -> ActivationOut:
    activation = logic.move_active_version(
        client, administration, caller, version, ActivationKind.ROLLBACK, request_id
    )
    return ActivationOut.from_activation(activation)


@router.get("/policies/history")
async def get_history(
    caller: CurrentCaller, client: Client, administration: Administration, request_id: RequestId
) -> HistoryOut:
    logic.authorize_policy_admin(client, caller, request_id)
    return HistoryOut(items=[ActivationOut.from_activation(a) for a in administration.history(caller.tenant)])
