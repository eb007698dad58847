"""Which layers a function carries besides the shared one, and the Cedar layer they share.

The shared layer holds what every function imports (Powertools, pydantic, PynamoDB, echo_shared),
except the authorizer, which imports none of its libraries and carries echo_shared in its bundle.
Cedar's engine (cedarpy, 11 MB) sits in its own layer, attached only to the functions that decide
in-process: the others never import it, so they neither ship nor load it (docs/cold-starts.md).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from stacks.bundling import SHARED_CODE_IN_BUNDLE, layer_code
from stacks.settings import StageSettings

# Functions that evaluate Cedar policies in-process (echo_shared.authz's client, validator, admin).
CEDAR_FUNCTIONS = frozenset({"audit_api", "authz", "documents", "query", "users"})
_CEDAR_LAYER_ID = "CedarLayer"


def extra_layers(package: str) -> tuple[str, ...]:
    """The names of the layers under layers/ that `package` carries besides the shared one."""
    from stacks.documents import EXTRA_LAYERS as DOCUMENT_LAYERS  # documents' stack builds functions

    cedar = ("cedar",) if package in CEDAR_FUNCTIONS else ()
    return (*cedar, *DOCUMENT_LAYERS.get(package, ()))


def layer_names(package: str) -> tuple[str, ...]:
    """Every layer under layers/ that `package` carries: the shared one unless its bundle holds the
    shared code itself (`SHARED_CODE_IN_BUNDLE`), then the extra ones."""
    shared = () if package in SHARED_CODE_IN_BUNDLE else ("shared",)
    return (*shared, *extra_layers(package))


def cedar_layer(scope: Construct, settings: StageSettings) -> lambda_.ILayerVersion:
    """The stack's one Cedar layer version, created on first use."""
    stack = cdk.Stack.of(scope)
    existing = stack.node.try_find_child(_CEDAR_LAYER_ID)
    if isinstance(existing, lambda_.LayerVersion):
        return existing
    return lambda_.LayerVersion(
        stack,
        _CEDAR_LAYER_ID,
        layer_version_name=settings.resource_name("cedar"),
        description="cedarpy: the Cedar policy engine, for functions that decide in-process",
        code=layer_code("cedar"),
        compatible_runtimes=[lambda_.Runtime.PYTHON_3_13],
        compatible_architectures=[lambda_.Architecture.X86_64],
        removal_policy=cdk.RemovalPolicy.RETAIN if settings.is_production_like else cdk.RemovalPolicy.DESTROY,
    )
