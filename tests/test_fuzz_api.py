"""Hostile input on every endpoint that takes a body or a filter: lone surrogates, NUL,
deep nesting, wrong types, unknown fields. Never a 500, nothing unstorable stored, and
the user's lists still render afterwards (run on SQLite, and on PostgreSQL by
``scripts/test-postgres``)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_api import EXECUTE, PILLAR, client_for, make_user

pytestmark = pytest.mark.django_db

HOSTILE_TEXT = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["\ud800", "a\x00b", "\udfff x", "\x00", "é\u202e", "x" * 5000]),
)
LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), HOSTILE_TEXT)
VALUE = st.recursive(
    LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(HOSTILE_TEXT, inner, max_size=3)
    ),
    max_leaves=12,
)


def deep(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"k": value}
    return value


BODY_CHANGES = st.one_of(
    st.fixed_dictionaries({"data": VALUE}),
    st.fixed_dictionaries(
        {"data": st.fixed_dictionaries({"name": HOSTILE_TEXT, "description": HOSTILE_TEXT})}
    ),
    st.fixed_dictionaries({"feature": VALUE}),
    st.fixed_dictionaries({"operation": HOSTILE_TEXT}),
    st.fixed_dictionaries({"model": VALUE, "mode": VALUE}),
    st.fixed_dictionaries({"options": VALUE}),
    st.fixed_dictionaries({"timeout_ms": VALUE}),
    st.dictionaries(HOSTILE_TEXT, VALUE, min_size=1, max_size=2),  # unknown fields
    st.integers(10, 40).map(lambda depth: {"data": deep(depth)}),
)


def encode(body: Any) -> str:
    # surrogatepass-free JSON: lone surrogates travel as \\ud800 escapes, as a client sends.
    return json.dumps(body, ensure_ascii=True)


@pytest.fixture
def world(settings: Any) -> dict[str, Any]:
    settings.LLM_ORCHESTRATOR_FACTORY = "tests.api_support.fake_orchestrator"
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": None, "llm_execute": None},
    }
    from backend.llm.runs import get_run_service

    get_run_service.cache_clear()
    client = client_for(make_user("fuzz"))
    design = client.post("/api/designs/", {"title": "Mine"}, format="json").json()
    pillar = client.post("/api/pillars/", {"design": design["id"], **PILLAR}, format="json").json()
    return {"client": client, "design": design["id"], "pillar": pillar["id"]}


def endpoints(world: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    design, pillar = world["design"], world["pillar"]
    return [
        ("post", "/api/llm/execute/", EXECUTE),
        ("post", "/api/designs/", {"title": "T"}),
        ("patch", f"/api/designs/{design}/", {"title": "T"}),
        ("post", "/api/pillars/", {"design": design, **PILLAR}),
        ("patch", f"/api/pillars/{pillar}/", PILLAR),
        ("post", f"/api/pillars/{pillar}/validate/", {}),
        ("post", f"/api/designs/{design}/evaluate/", {}),
    ]


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(index=st.integers(0, 6), change=BODY_CHANGES, filter_value=HOSTILE_TEXT)
def test_no_hostile_body_or_filter_is_a_500(world, index, change, filter_value):
    client = world["client"]
    method, url, base = endpoints(world)[index]
    response = getattr(client, method)(
        url, encode({**base, **change}), content_type="application/json"
    )
    assert response.status_code < 500, response.content[:500]
    # Percent-encoded UTF-8 (lone surrogates too), as a client puts it in a URL.
    value = quote(filter_value, safe="", errors="surrogatepass")
    listing = client.generic("GET", f"/api/llm/runs/?status={value}&feature={value}")
    assert listing.status_code in (200, 400), listing.content[:500]
    for url in ("/api/llm/runs/", "/api/designs/", "/api/pillars/"):
        assert client.get(url).status_code == 200


INFINITE = "__1e400__"
HOSTILE_CASES = [
    {"mode": "\ud800"},
    {"mode": "m" * 17},
    {"model": "a\x00b"},
    {"model": "\ud800"},
    {"options": {"fallback_models": ["\ud800"]}},
    {"options": {"fallback_models": ["local\x00"]}},
    {"options": {"agent_models": {"contradictions": "\x00"}}},
    {"options": {"agent_models": {"\ud800": "local"}}},
    {"timeout_ms": True},
    {"timeout_ms": "100"},
    {"options": {"temperature": INFINITE}},
]
EXECUTE_ONLY = [
    {"feature": "pil\x00lars"},
    {"feature": "\ud800"},
    {"operation": "\x00"},
    {"operation": "\udfff"},
    {"data": {**PILLAR, "weight": INFINITE}},
    {"data": {"nested": [INFINITE]}},
]


@pytest.mark.parametrize("change", HOSTILE_CASES + EXECUTE_ONLY, ids=repr)
def test_each_known_hostile_field_is_a_400_on_every_body_endpoint(world, change):
    """The cases an operator's probe found (a 500 on SQLite or PostgreSQL before): NUL or a
    lone surrogate in any text that reaches a column, a mode longer than its column, a
    number that JSON turns into infinity, a boolean or a string where a number belongs."""
    client = world["client"]
    targets = [("/api/llm/execute/", EXECUTE)]
    if change not in EXECUTE_ONLY:
        targets.append((f"/api/designs/{world['design']}/evaluate/", {}))
    for url, base in targets:
        body = encode({**base, **change}).replace(f'"{INFINITE}"', "1e400")
        response = client.post(url, body, content_type="application/json")
        assert response.status_code == 400, (url, response.content[:300])
        assert response.json()["error"]["suggestion"]
    assert client.get("/api/llm/runs/").status_code == 200
