"""The packaged schema, baseline and golden decisions are consistent with each other and the code."""

import cedarpy
import pytest
from echo_shared.authz import InvalidAuthzRequest
from echo_shared.authz.catalog import BASELINE_ID_PREFIX, PolicyCatalog
from echo_shared.authz.model import Classification, PrincipalType, RequestContext, ResourceType


def test_the_baseline_validates_against_the_schema(catalog: PolicyCatalog) -> None:
    result = cedarpy.validate_policies(catalog.baseline_text, catalog.schema)
    assert result.validation_passed, [str(error) for error in result.errors]


def test_every_baseline_policy_has_a_reserved_unique_id(catalog: PolicyCatalog) -> None:
    names = list(catalog.baseline_names.values())
    assert len(names) == len(set(names)) == len(catalog.baseline_names)
    assert all(name.startswith(BASELINE_ID_PREFIX) for name in names)


def test_entity_types_in_code_match_the_schema(catalog: PolicyCatalog) -> None:
    declared = {*PrincipalType, *ResourceType}
    assert {t.value for t in declared} <= catalog.entity_types
    assert catalog.entity_types - {t.value for t in declared} == {"Role"}


def test_request_context_model_matches_the_schema(catalog: PolicyCatalog) -> None:
    attributes = dict(catalog.schema_document[""]["commonTypes"]["RequestContext"]["attributes"])
    # `tenant` is always set by Echo (where the question is asked); callers supply the rest.
    assert attributes.pop("tenant") == {"type": "Entity", "name": "Tenant", "required": True}
    assert set(attributes) == set(RequestContext.model_fields)
    assert all(spec.get("required") is False for spec in attributes.values())


def test_document_classifications_are_the_ones_policies_compare_with(catalog: PolicyCatalog) -> None:
    for classification in Classification:
        if classification is not Classification.CONFIDENTIAL:
            assert f'"{classification.value}"' in catalog.baseline_text


def test_platform_and_document_actions_are_declared(catalog: PolicyCatalog) -> None:
    assert catalog.actions["audit:read"].resource_types == {"Tenant"}
    assert catalog.actions["policy:admin"].resource_types == {"Tenant"}
    assert catalog.actions["user:admin"].resource_types == {"Tenant"}
    for verb in ("read", "write", "delete", "share", "query"):
        assert catalog.actions[f"document:{verb}"].resource_types == {"Document"}


@pytest.mark.parametrize(
    ("principal_type", "action", "resource_type", "message"),
    [
        ("Robot", "document:read", "Document", "unknown principal entity type 'Robot'"),
        ("User", "document:read", "Folder", "unknown resource entity type 'Folder'"),
        ("User", "document:fly", "Document", "unknown action 'document:fly'"),
        ("User", "audit:read", "Document", "does not apply to resources of type Document"),
        ("Tenant", "audit:read", "Tenant", "does not apply to principals of type Tenant"),
    ],
)
def test_questions_the_schema_cannot_express_are_refused(
    catalog: PolicyCatalog, principal_type: str, action: str, resource_type: str, message: str
) -> None:
    with pytest.raises(InvalidAuthzRequest, match=message):
        catalog.check_shape(principal_type, action, resource_type)


def test_the_baseline_version_changes_with_the_baseline(catalog: PolicyCatalog) -> None:
    assert catalog.baseline_version.startswith("baseline-")
    assert len(catalog.baseline_version) == len("baseline-") + 12
