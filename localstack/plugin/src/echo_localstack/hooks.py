"""`on_infra_start` hooks. Both act when LocalStack imports the module concerned, which it does lazily
(importing LocalStack's API Gateway handlers alone costs ~2.7 s of start-up)."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from types import ModuleType

from localstack.runtime import hooks

from echo_localstack.post_import import when_imported

LOG = logging.getLogger(__name__)
GATEWAY_HANDLERS_MODULE = "localstack.services.apigateway.next_gen.execute_api.handlers"
S3_PROVIDER_MODULE = "localstack.services.s3.provider"


def _add_authorizer_handler(handlers: ModuleType) -> None:
    from echo_localstack.apigateway.gateway_handler import LambdaAuthorizerHandler

    handlers.preprocess_request.append(LambdaAuthorizerHandler())
    LOG.debug("Lambda authorizers enabled for REST APIs")


def _move_s3_storage(provider: ModuleType) -> None:
    # Hard-coded to /tmp/localstack-s3-storage, which two instances (or users) would share.
    storage = Path(tempfile.gettempdir()) / "localstack-s3-storage"
    provider.DEFAULT_S3_TMP_DIR = str(storage)  # type: ignore[attr-defined]


@hooks.on_infra_start()
def register_lambda_authorizers() -> None:
    when_imported(GATEWAY_HANDLERS_MODULE, _add_authorizer_handler)


@hooks.on_infra_start()
def keep_s3_storage_in_state_dir() -> None:
    when_imported(S3_PROVIDER_MODULE, _move_s3_storage)
