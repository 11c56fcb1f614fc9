"""Schemathesis against the generated OpenAPI schema, in-process over WSGI, on the fake
model: no 500s, every status documented, every response body matches the schema."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
import schemathesis
from django.contrib.auth.models import Permission, User
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import override_settings
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.schemas import OpenApiSchema

# Generated once per process (at collection), shared by both tests' schemas.
OPENAPI = SchemaGenerator().get_schema(request=None, public=True)
APP = get_wsgi_application()


def _schema(mode: GenerationMode, *, coverage: bool) -> OpenApiSchema:
    loaded = schemathesis.openapi.from_dict(copy.deepcopy(OPENAPI))  # schemathesis may edit it
    loaded.app = APP
    loaded.config.generation.modes = [mode]
    loaded.config.phases.coverage.enabled = coverage
    return loaded


# Valid input, with schemathesis's coverage phase: every boundary of every field. Its
# negative twin (values of the wrong type for every keyword) is drawn at collection and
# costs a minute of CPU per process; wrong input gets random fuzzing here instead, and
# hand-written hostile bodies in test_fuzz_api.
valid = _schema(GenerationMode.POSITIVE, coverage=True)
# The two operations that take no input have nothing to get wrong.
invalid = _schema(GenerationMode.NEGATIVE, coverage=False).exclude(
    path_regex=r"^/api/llm/(models|operations)/$"
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def auth_headers(db: None) -> Iterator[dict[str, str]]:
    user = User.objects.create_user("fuzzer")
    user.user_permissions.add(Permission.objects.get(codename="add_run"))
    token = Token.objects.create(user=user)
    # As Django's test client does: the test's transaction must survive each request.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        with override_settings(LLM_ORCHESTRATOR_FACTORY="tests.api_support.fake_orchestrator"):
            yield {"Authorization": f"Token {token.key}"}
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@valid.parametrize()
@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case: schemathesis.Case, auth_headers: dict[str, str]) -> None:
    case.call_and_validate(headers=auth_headers, checks=CHECKS)


@invalid.parametrize()
@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_invalid_input_is_a_documented_4xx(
    case: schemathesis.Case, auth_headers: dict[str, str]
) -> None:
    case.call_and_validate(headers=auth_headers, checks=CHECKS)
