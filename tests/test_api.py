"""The REST API through Django's test client, on a real SQLite database."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.core.cache import cache
from django.db import connections
from django.test import override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from backend.llm import exceptions
from backend.llm.api.execution import get_run_service
from backend.llm.models import Run
from tests import api_support
from tests.api_support import model_calls

pytestmark = pytest.mark.django_db

PILLAR = {"name": "Core Mechanic", "description": "Players solve puzzles"}
EXECUTE = {"feature": "pillars", "operation": "validate", "data": PILLAR}


@pytest.fixture(autouse=True)
def fake_models() -> Iterator[None]:
    api_support.OVERRIDE.clear()
    cache.clear()  # throttling counters
    with override_settings(LLM_ORCHESTRATOR_FACTORY="tests.api_support.fake_orchestrator"):
        yield
    api_support.OVERRIDE.clear()


def make_user(name: str, *, can_run: bool = True) -> User:
    user = User.objects.create_user(name, password="pw-" + name)
    if can_run:
        user.user_permissions.add(Permission.objects.get(codename="add_run"))
    return user


def client_for(user: User) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def alice() -> APIClient:
    return client_for(make_user("alice"))


def error_of(response: Any) -> Any:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "context", "suggestion"}
    return body["error"]


def test_execute_records_and_returns_the_run(alice):
    response = alice.post("/api/llm/execute/", EXECUTE, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["results"] == api_support.VALID
    assert body["status"] == "succeeded"
    assert body["metadata"]["models_used"] == ["test:api"]
    run = Run.objects.get(run_id=body["run_id"])
    assert run.status == "succeeded"
    assert run.results == api_support.VALID
    assert run.metadata is not None
    assert run.metadata["run_id"] == body["run_id"]
    assert run.resolved_models == ["test:api"]
    assert run.requested_model == "test:api"
    fetched = alice.get(f"/api/llm/runs/{body['run_id']}/").json()
    assert fetched["status"] == "succeeded"
    assert fetched["results"] == api_support.VALID


def test_full_flow_on_a_pillar_set(alice):
    design = alice.post(
        "/api/designs/",
        {"title": "Dungeon", "genre": "roguelike", "audience": "core PC"},
        format="json",
    ).json()
    for name, text in [("Every fight is a puzzle", "Planning"), ("Fast and frantic", "Reflexes")]:
        created = alice.post(
            "/api/pillars/",
            {"design": design["id"], "name": name, "description": text},
            format="json",
        )
        assert created.status_code == 201, created.content
    pillar_id = created.json()["id"]
    actions = [f"/api/pillars/{pillar_id}/{op}/" for op in ("validate", "improve")] + [
        f"/api/designs/{design['id']}/{op}/"
        for op in (
            "evaluate_completeness",
            "evaluate_contradictions",
            "suggest_additions",
            "evaluate_context",
            "evaluate",
        )
    ]
    for url in actions:
        response = alice.post(url, {}, format="json")
        assert response.status_code == 200, (url, response.content)
    agentic = alice.post(
        f"/api/designs/{design['id']}/evaluate/", {"mode": "agentic"}, format="json"
    ).json()
    assert agentic["metadata"]["execution_mode"] == "agentic"
    assert agentic["metadata"]["agentic"]["plan"] == "multi_agent"
    runs = alice.get("/api/llm/runs/").json()
    assert runs["count"] == len(actions) + 1
    assert alice.get("/api/llm/runs/?mode=agentic").json()["count"] == 1
    assert alice.get("/api/llm/runs/?operation=validate").json()["count"] == 1
    # The design's context reached the prompt of evaluate_context.
    stored = Run.objects.get(operation="evaluate_context")
    assert stored.request_data["context"]["genre"] == "roguelike"


def test_idempotency_replays_without_calling_the_model(alice):
    headers = {"HTTP_IDEMPOTENCY_KEY": "key-1"}
    first = alice.post("/api/llm/execute/", EXECUTE, format="json", **headers).json()
    calls = model_calls()
    second = alice.post("/api/llm/execute/", EXECUTE, format="json", **headers).json()
    assert second == first
    assert model_calls() == calls
    assert Run.objects.count() == 1


def test_idempotency_key_with_another_body_is_a_conflict(alice):
    alice.post("/api/llm/execute/", EXECUTE, format="json", HTTP_IDEMPOTENCY_KEY="key-2")
    other = {**EXECUTE, "data": {"name": "Other", "description": "Different"}}
    response = alice.post("/api/llm/execute/", other, format="json", HTTP_IDEMPOTENCY_KEY="key-2")
    assert response.status_code == 409
    assert error_of(response)["code"] == "idempotency_conflict"


def test_same_key_is_per_user(alice):
    bob = client_for(make_user("bob"))
    a = alice.post(
        "/api/llm/execute/", EXECUTE, format="json", HTTP_IDEMPOTENCY_KEY="shared"
    ).json()
    b = bob.post("/api/llm/execute/", EXECUTE, format="json", HTTP_IDEMPOTENCY_KEY="shared").json()
    assert a["run_id"] != b["run_id"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_run_the_model_once():
    api_support.OVERRIDE["delay_s"] = 0.5
    user = make_user("carol")
    token = Token.objects.create(user=user)
    results: list[Any] = []

    def post() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        try:
            results.append(
                client.post(
                    "/api/llm/execute/", EXECUTE, format="json", HTTP_IDEMPOTENCY_KEY="race"
                )
            )
        finally:
            connections.close_all()  # this thread's connection, or the test DB cannot be dropped

    threads = [threading.Thread(target=post) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # The first runs the model (200); the others get its run back at once, still running
    # (202, no waiting) or already finished (200).
    assert {r.status_code for r in results} <= {200, 202}, [r.content for r in results]
    assert 200 in {r.status_code for r in results}
    assert len({r.json()["run_id"] for r in results}) == 1
    assert Run.objects.get(owner=user).status == Run.Status.SUCCEEDED
    assert model_calls() == 1


def test_another_users_run_is_not_found(alice):
    run_id = alice.post("/api/llm/execute/", EXECUTE, format="json").json()["run_id"]
    bob = client_for(make_user("bob"))
    response = bob.get(f"/api/llm/runs/{run_id}/")
    assert response.status_code == 404
    assert error_of(response)["code"] == "run_not_found"
    assert bob.get("/api/llm/runs/").json()["count"] == 0
    assert bob.get("/api/llm/runs/not-a-uuid/").status_code == 404


def test_another_users_pillar_is_not_reachable(alice):
    design = alice.post("/api/designs/", {"title": "Mine"}, format="json").json()
    pillar = alice.post("/api/pillars/", {"design": design["id"], **PILLAR}, format="json").json()
    bob = client_for(make_user("bob"))
    assert bob.post(f"/api/pillars/{pillar['id']}/validate/", {}, format="json").status_code == 404
    assert bob.get(f"/api/designs/{design['id']}/").status_code == 404
    stolen = bob.post("/api/pillars/", {"design": design["id"], **PILLAR}, format="json")
    assert stolen.status_code == 400
    missing = bob.post("/api/pillars/", {"design": 999_999, **PILLAR}, format="json")
    # Another user's design and a missing one are told apart by nothing but the id.
    assert error_of(stolen)["message"].replace(str(design["id"]), "ID") == error_of(missing)[
        "message"
    ].replace("999999", "ID")


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", "/api/llm/execute/"),
        ("get", "/api/llm/runs/"),
        ("get", "/api/llm/operations/"),
        ("get", "/api/llm/models/"),
        ("get", "/api/designs/"),
        ("post", "/api/pillars/1/validate/"),
        ("post", "/api/llm/runs/00000000-0000-0000-0000-000000000000/cancel/"),
        ("get", "/api/schema/"),
        ("get", "/api/docs/"),
    ],
)
def test_anonymous_requests_are_401(method, url):
    response = getattr(APIClient(), method)(url, {}, format="json")
    assert response.status_code == 401
    if response["Content-Type"].startswith("application/json"):  # not the YAML schema
        assert error_of(response)["code"] == "authentication_error"


def test_without_permission_running_is_403_but_reading_works():
    client = client_for(make_user("dave", can_run=False))
    response = client.post("/api/llm/execute/", EXECUTE, format="json")
    assert response.status_code == 403
    assert error_of(response)["code"] == "permission_denied"
    assert client.get("/api/llm/runs/").status_code == 200


def test_throttling_is_a_rate_limit_error(alice):
    rates = {"user": "1000/min", "llm_execute": "2/day"}  # no window boundary mid-test
    from rest_framework.settings import api_settings

    with override_settings(
        REST_FRAMEWORK={**api_settings.user_settings, "DEFAULT_THROTTLE_RATES": rates}
    ):
        codes = [
            alice.post("/api/llm/execute/", EXECUTE, format="json").status_code for _ in range(3)
        ]
        response = alice.post("/api/llm/execute/", EXECUTE, format="json")
    assert codes == [200, 200, 429]
    assert error_of(response)["code"] == "rate_limit_exceeded"
    assert response["Retry-After"]


def test_malformed_and_oversized_bodies(alice):
    malformed = alice.generic(
        "POST", "/api/llm/execute/", "{not json", content_type="application/json"
    )
    assert malformed.status_code == 400
    assert error_of(malformed)["code"] == "invalid_request"
    huge = json.dumps({**EXECUTE, "data": {**PILLAR, "description": "x" * 300_000}})
    oversized = alice.generic("POST", "/api/llm/execute/", huge, content_type="application/json")
    assert oversized.status_code == 400
    assert error_of(oversized)["code"] == "invalid_request"
    too_long = alice.post(
        "/api/llm/execute/",
        {**EXECUTE, "data": {**PILLAR, "description": "y" * 25_000}},
        format="json",
    )
    assert too_long.status_code == 400
    assert error_of(too_long)["code"] == "validation_error"
    missing = alice.post("/api/llm/execute/", {"feature": "pillars"}, format="json")
    assert error_of(missing)["code"] == "validation_error"
    assert {e["field"] for e in error_of(missing)["context"]["errors"]} >= {"operation"}


def test_bad_input_is_recorded_as_a_failed_run(alice):
    response = alice.post("/api/llm/execute/", {**EXECUTE, "operation": "nope"}, format="json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "unknown_operation"
    run = Run.objects.get()
    assert run.status == "failed"
    assert run.error is not None
    assert run.error["code"] == "unknown_operation"


@pytest.mark.parametrize("error_class", exceptions.all_error_classes())
def test_every_orchestrator_error_maps_to_its_status(alice, error_class):
    api_support.OVERRIDE["reply"] = error_class("injected failure")
    response = alice.post("/api/llm/execute/", EXECUTE, format="json")
    assert response.status_code == error_class.http_status
    error = error_of(response)
    assert error["code"] == error_class.code
    assert error["suggestion"]
    assert Run.objects.get().status == "failed"


def test_failed_run_replays_its_error(alice):
    api_support.OVERRIDE["reply"] = exceptions.ProviderError("upstream broke")
    first = alice.post("/api/llm/execute/", EXECUTE, format="json", HTTP_IDEMPOTENCY_KEY="k")
    api_support.OVERRIDE.clear()
    second = alice.post("/api/llm/execute/", EXECUTE, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert first.status_code == second.status_code == 502
    assert error_of(second)["code"] == "provider_error"


def test_operations_and_models_endpoints(alice):
    operations = alice.get("/api/llm/operations/").json()["operations"]
    by_id = {op["operation"]: op for op in operations}
    assert by_id["pillars.evaluate"]["agentic_plan"] == [
        "completeness",
        "contradictions",
        "context",
    ]
    assert by_id["pillars.validate"]["input_schema"]["required"] == ["name", "description"]
    models = alice.get("/api/llm/models/").json()
    assert models["default_model"] == "test:api"


def test_canary_api_key_never_leaks(alice, caplog, monkeypatch, settings):
    canary = "sk-canary-0123456789abcdefghij"
    monkeypatch.setenv("OPENAI_API_KEY", canary)
    from backend.llm.config import reset_config

    reset_config()
    settings.LLM_ORCHESTRATOR_FACTORY = None  # the real orchestrator, real OpenAI provider
    get_run_service.cache_clear()
    caplog.set_level("DEBUG")
    response = alice.post("/api/llm/execute/", {**EXECUTE, "model": "openai"}, format="json")
    assert response.status_code in (502, 503)  # the network is closed in tests
    models = alice.get("/api/llm/models/")
    dumped = json.dumps([list(Run.objects.values()), response.json(), models.json()], default=str)
    assert canary not in dumped
    assert canary not in caplog.text
    assert models.json()["providers"]["openai"]["configured"] is True


def test_openapi_schema_and_docs(alice):
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)
    paths = schema["paths"]
    for path in (
        "/api/llm/execute/",
        "/api/llm/runs/{run_id}/",
        "/api/pillars/{id}/validate/",
        "/api/designs/{id}/evaluate/",
        "/api/llm/operations/",
        "/api/llm/models/",
    ):
        assert path in paths
    assert alice.get("/api/schema/").status_code == 200
    docs = alice.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()


@pytest.mark.parametrize("text", ["lone \\ud800 x", "nul \\u0000 x"])
def test_unstorable_text_is_a_400_and_stores_nothing(alice, text):
    body = (
        '{"feature": "pillars", "operation": "validate", '
        '"data": {"name": "%s", "description": "d"}}'
    )
    response = alice.post("/api/llm/execute/", body % text, content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "validation_error"
    assert Run.objects.count() == 0
    assert alice.get("/api/llm/runs/").status_code == 200


def test_unknown_top_level_fields_are_a_400(alice):
    response = alice.post("/api/llm/execute/", {**EXECUTE, "modle": "openai"}, format="json")
    assert response.status_code == 400
    assert "modle" in str(error_of(response)["context"])


def _real_orchestrator(monkeypatch: Any, settings: Any, **variables: str) -> None:
    from backend.llm.config import reset_config

    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    reset_config()
    settings.LLM_ORCHESTRATOR_FACTORY = None
    get_run_service.cache_clear()


def test_a_providers_credential_failure_is_a_502_of_its_own_not_the_clients_401(
    alice, monkeypatch, settings
):
    from backend.llm.loopback import loopback_openai

    with loopback_openai() as server:
        server.faults += [(401, {})]
        _real_orchestrator(
            monkeypatch, settings, OPENAI_BASE_URL=server.base_url, OPENAI_API_KEY="sk-x"
        )
        response = alice.post("/api/llm/execute/", {**EXECUTE, "model": "openai:x"}, format="json")
    assert response.status_code == 502
    error = error_of(response)
    assert error["code"] == "provider_authentication_error"
    assert error["context"]["provider"] == "openai"
    assert "administrator" in error["suggestion"]
    # The client's own failure keeps its 401.
    assert APIClient().post("/api/llm/execute/", EXECUTE, format="json").status_code == 401


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("model", "variables"),
    [
        ("openai:x", {"OPENAI_BASE_URL": "http://127.0.0.1:{port}/v1"}),
        ("ollama:x", {"OLLAMA_BASE_URL": "http://127.0.0.1:{port}"}),
        ("gemini:gemini-2.5-flash", {"GEMINI_BASE_URL": "http://127.0.0.1:{port}"}),
    ],
)
def test_an_unreachable_provider_is_a_503_whichever_the_vendor(
    alice, monkeypatch, settings, model, variables
):
    port = _closed_port()
    _real_orchestrator(
        monkeypatch,
        settings,
        GEMINI_API_KEY="AIza-test",
        LLM_ORCHESTRATOR_MAX_ATTEMPTS="1",
        **{name: value.format(port=port) for name, value in variables.items()},
    )
    response = alice.post("/api/llm/execute/", {**EXECUTE, "model": model}, format="json")
    assert response.status_code == 503, response.json()
    assert error_of(response)["code"] == "model_unavailable"


@pytest.mark.parametrize("depth", [20, 256, 2_000, 100_000])
def test_deeply_nested_json_is_a_400_at_any_depth(alice, depth):
    body = '{"feature": "pillars", "operation": "validate", "data": ' + "[" * depth
    body += "]" * depth + "}"
    response = alice.post("/api/llm/execute/", body, content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] in ("invalid_request", "validation_error")
    assert Run.objects.count() == 0


@pytest.mark.parametrize(
    "url",
    [
        "/api/llm/runs/?status=%00",
        "/api/llm/runs/?feature=a%00b",
        "/api/llm/runs/?%00=x",
        "/api/designs/?title=%00",
        "/api/llm/runs/%00/",
    ],
)
def test_a_nul_anywhere_in_the_url_is_a_400(alice, url):
    response = alice.get(url)
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_request"
    assert alice.get("/api/llm/runs/").status_code == 200


def test_throttle_counts_can_live_in_a_shared_cache_instead(alice):
    # THROTTLE_CACHE names a cache every process shares (Redis in production); a local
    # memory cache stands in for it here, in one process.
    from rest_framework.settings import api_settings

    from backend.llm.models import ThrottleCount

    caches = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "throttle": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    rates = {"user": "1000/min", "llm_execute": "2/day"}
    with override_settings(
        CACHES=caches,
        THROTTLE_CACHE="throttle",
        REST_FRAMEWORK={**api_settings.user_settings, "DEFAULT_THROTTLE_RATES": rates},
    ):
        codes = [
            alice.post("/api/llm/execute/", EXECUTE, format="json").status_code for _ in range(3)
        ]
    assert codes == [200, 200, 429]
    assert not ThrottleCount.objects.exists()


@pytest.mark.django_db
def test_a_failed_run_whose_error_held_inf_and_nan_is_stored_and_read_back():
    """Non-finite numbers never reach a JSON column: the outcome of a failed run is
    always storable (SQLite's JSON_VALID check and PostgreSQL's jsonb both refuse inf)."""
    from backend.llm import exceptions
    from backend.llm.models import Run

    error = exceptions.RateLimitError(retry_after_s=float("inf"), ratio=float("nan"))
    run = Run.objects.create(
        owner=make_user("inf"),
        feature="pillars",
        operation="validate",
        status=Run.Status.FAILED,
        error=error.to_dict(),
    )
    stored = Run.objects.get(pk=run.pk).error
    assert stored is not None
    assert stored["context"] == {"retry_after_s": "inf", "ratio": "nan"}
    assert stored["code"] == "rate_limit_exceeded"


def test_the_right_to_run_is_cached_and_a_revocation_applies_at_once():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    user = make_user("cached")
    client = client_for(user)
    assert client.post("/api/llm/execute/", EXECUTE, format="json").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.post("/api/llm/execute/", EXECUTE, format="json").status_code == 200
    assert not [q for q in queries.captured_queries if "auth_permission" in q["sql"]]
    user.user_permissions.remove(Permission.objects.get(codename="add_run"))
    response = client.post("/api/llm/execute/", EXECUTE, format="json")
    assert response.status_code == 403
    assert error_of(response)["code"] == "permission_denied"
