"""The package is found by LocalStack: entry points, the CloudFormation provider, the import hook."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest
from echo_localstack.apigateway.authorizer_resource import (
    ApiGatewayAuthorizerProvider,
    create_parameters,
    patch_operations,
)
from echo_localstack.post_import import when_imported
from plux import PluginManager


def test_the_executor_plugin_is_registered() -> None:
    from echo_localstack.lambda_executor.executor import LocalProcessRuntimeExecutor

    plugin = PluginManager("localstack.lambda.runtime_executor").load("echo-local")

    assert plugin.load() is LocalProcessRuntimeExecutor


def test_the_authorizer_resource_provider_is_registered() -> None:
    plugin = PluginManager("localstack.cloudformation.resource_providers").load("AWS::ApiGateway::Authorizer")

    assert plugin.factory is ApiGatewayAuthorizerProvider
    assert ApiGatewayAuthorizerProvider.SCHEMA["typeName"] == "AWS::ApiGateway::Authorizer"


def test_the_infra_start_hooks_are_registered() -> None:
    names = PluginManager("localstack.hooks.on_infra_start").list_names()

    assert {"register_lambda_authorizers", "keep_s3_storage_in_state_dir"} <= set(names)


def test_create_parameters_map_cloudformation_properties() -> None:
    params = create_parameters(
        {
            "RestApiId": "api",
            "Name": "auth",
            "Type": "TOKEN",
            "AuthorizerResultTtlInSeconds": "60",
            "AuthorizerUri": "arn:uri",
            "IdentitySource": "method.request.header.Authorization",
        }
    )

    assert params == {
        "restApiId": "api",
        "name": "auth",
        "type": "TOKEN",
        "authorizerResultTtlInSeconds": 60,
        "authorizerUri": "arn:uri",
        "identitySource": "method.request.header.Authorization",
    }


def test_updates_become_patch_operations() -> None:
    operations = patch_operations(
        {
            "RestApiId": "api",
            "Name": "auth",
            "Type": "TOKEN",
            "AuthorizerResultTtlInSeconds": 300,
            "ProviderARNs": ["arn:a"],
        },
        {
            "RestApiId": "api",
            "Name": "auth",
            "Type": "TOKEN",
            "AuthorizerResultTtlInSeconds": 0,
            "ProviderARNs": ["arn:b"],
        },
    )

    assert operations == [
        {"op": "replace", "path": "/authorizerResultTtlInSeconds", "value": "0"},
        {"op": "add", "path": "/providerARNs", "value": "arn:b"},
        {"op": "remove", "path": "/providerARNs", "value": "arn:a"},
    ]


@pytest.fixture
def module_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_callbacks_run_when_a_module_is_imported(module_dir: Path) -> None:
    (module_dir / "echo_probe_late.py").write_text("VALUE = 1\n")
    seen: list[ModuleType] = []
    when_imported("echo_probe_late", seen.append)
    assert seen == []

    import echo_probe_late

    assert seen == [echo_probe_late]
    sys.modules.pop("echo_probe_late")


def test_callbacks_run_at_once_for_modules_already_imported(module_dir: Path) -> None:
    (module_dir / "echo_probe_early.py").write_text("VALUE = 2\n")
    import echo_probe_early

    seen: list[ModuleType] = []
    when_imported("echo_probe_early", seen.append)

    assert seen == [echo_probe_early]
    sys.modules.pop("echo_probe_early")
