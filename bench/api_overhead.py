"""API overhead: requests per second through POST /api/llm/execute/ (auth, throttling,
validation, a recorded run in SQLite) against calling execute() directly, same instant
fake model, same run. The client is Django's in-process test client (no sockets)."""

from __future__ import annotations

import argparse
import os
import tempfile

from _common import load_line, median, summary, test_model_orchestrator, timed

DB = tempfile.NamedTemporaryFile(suffix=".sqlite3", delete=False)  # noqa: SIM115 - lives for the run
os.environ["SQLITE_PATH"] = DB.name
# Throttling stays on (its cost is part of the API's), with limits the bench cannot reach.
os.environ["API_RATE_USER"] = os.environ["API_RATE_LLM_EXECUTE"] = "1000000/s"

from backend.llm import setup  # noqa: E402

setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Permission, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from backend.llm.types import LLMRequest  # noqa: E402

PAYLOAD = {
    "feature": "pillars",
    "operation": "validate",
    "data": {"name": "Core Mechanic", "description": "Players solve puzzles"},
}


def main() -> None:
    print(load_line())
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    settings.LLM_ORCHESTRATOR_FACTORY = "_common.test_model_orchestrator"
    user = User.objects.create_user("bench")
    user.user_permissions.add(Permission.objects.get(codename="add_run"))
    token = Token.objects.create(user=user)
    client = Client(HTTP_AUTHORIZATION=f"Token {token.key}")

    orchestrator = test_model_orchestrator()
    request = LLMRequest.model_validate(PAYLOAD)

    def through_api() -> None:
        response = client.post("/api/llm/execute/", PAYLOAD, content_type="application/json")
        assert response.status_code == 200, response.content

    direct: list[float] = []
    api: list[float] = []
    for _ in range(5):
        direct += timed(lambda: orchestrator.execute(request), args.runs // 5)
        api += timed(through_api, args.runs // 5)
    print(f"requests per side:            {len(api)}")
    print(f"execute() directly:           {summary(direct)}  ({1000 / median(direct):7.0f} /s)")
    print(f"POST /api/llm/execute/:       {summary(api)}  ({1000 / median(api):7.0f} /s)")
    print(f"API time / direct time:       {median(api) / median(direct):.2f}")
    os.unlink(DB.name)


if __name__ == "__main__":
    main()
