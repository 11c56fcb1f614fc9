"""The experiment runner and report: replay of a recorded experiment, resume after a
kill, parameter checks, and a real mini-run on the embedded model."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from backend.experiments.report import RESULTS_HEADING
from backend.llm.providers._llama_server import EmbeddedServer

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "experiment-mini"
DATASET = ROOT / "datasets" / "pillars-v1.jsonl"


def results_section(report: Path) -> str:
    text = report.read_text()
    return text[text.index(RESULTS_HEADING) : text.index("## Plots")]


def runs(out: Path) -> dict[str, dict[str, Any]]:
    lines = (out / "runs.jsonl").read_text().splitlines()
    return {run["cell"]: run for run in map(json.loads, lines)}


def observed(run: dict[str, Any]) -> dict[str, Any]:
    """What a replay must reproduce of a run's metadata: tokens, models, timings and
    attempts per node (fields added to the metadata later need no re-recording)."""
    meta = run["metadata"]
    return {
        "wall_ms": run["wall_ms"],
        "status": run["status"],
        "token_usage": meta["token_usage"],
        "models_used": meta["models_used"],
        "execution_time_ms": meta["execution_time_ms"],
        "nodes": [
            {k: node[k] for k in ("node", "model_id", "duration_ms", "attempts", "token_usage")}
            for node in meta["nodes"]
        ],
    }


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    """A copy of the committed recorded experiment (2 sets x 2 modes on the embedded model)."""
    out = tmp_path / "recorded"
    shutil.copytree(FIXTURE, out, ignore=shutil.ignore_patterns("expected-*", "report*", "plots"))
    params = json.loads((out / "experiment.json").read_text())
    params["dataset"] = str(out / "dataset.jsonl")
    (out / "experiment.json").write_text(json.dumps(params))
    return out


@pytest.fixture
def no_embedded_model(monkeypatch):
    def refuse(self):
        raise AssertionError("the replay started the embedded model")

    monkeypatch.setattr(EmbeddedServer, "start", refuse)


def test_replay_reproduces_the_live_runs_and_the_report_tables(recorded, no_embedded_model):
    live = runs(recorded)
    call_command("llm", "experiment", "--out", str(recorded), "--replay", "--no-progress")
    replayed = runs(recorded)
    assert set(replayed) == set(live)
    for cell, run in live.items():
        assert replayed[cell]["results"] == run["results"], cell
        assert replayed[cell]["score"] == run["score"], cell
        assert observed(replayed[cell]) == observed(run), cell
    call_command("llm", "report", str(recorded))
    expected = (FIXTURE / "expected-tables.md").read_text()
    assert results_section(recorded / "report.md") == expected


def test_every_run_names_the_code_that_produced_it_and_the_report_lists_them(
    recorded, no_embedded_model
):
    """An experiment resumed across commits must say which runs which code produced: the
    header lists each commit with its number of runs, beside the report's own."""
    from backend.experiments._provenance import code_commit

    call_command("llm", "report", str(recorded))
    header = (recorded / "report.md").read_text().split(RESULTS_HEADING)[0]
    assert "**code of the runs**: not recorded (4 runs)" in header  # recorded before
    lines = (recorded / "runs.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    for row in rows[:3]:
        row["code_commit"] = "a" * 40
    (recorded / "runs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    call_command("llm", "report", str(recorded))
    header = (recorded / "report.md").read_text().split(RESULTS_HEADING)[0]
    assert "**code of the runs**: aaaaaaaaaaaa (3 runs), not recorded (1 run)" in header
    assert f"**code of this report**: {code_commit()}" in header

    call_command("llm", "experiment", "--out", str(recorded), "--replay", "--no-progress")
    assert {run["code_commit"] for run in runs(recorded).values()} == {code_commit()}


def test_a_call_missing_from_the_records_is_a_clear_error(recorded, no_embedded_model):
    calls = (recorded / "calls.jsonl").read_text().splitlines()
    dropped = next(json.loads(line) for line in calls if '"kind": "call"' in line)
    kept = [line for line in calls if json.loads(line).get("key") != dropped["key"]]
    (recorded / "calls.jsonl").write_text("\n".join(kept) + "\n")
    with pytest.raises(CommandError, match="not in the records") as info:
        call_command("llm", "experiment", "--out", str(recorded), "--replay", "--no-progress")
    assert dropped["cell"] in str(info.value)
    assert dropped["schema"]["title"] in str(info.value)
    assert runs(recorded).keys() == runs(FIXTURE).keys()  # runs.jsonl is left as it was


def test_other_parameters_in_an_existing_directory_are_refused(recorded):
    with pytest.raises(CommandError, match="options"):
        call_command(
            "llm",
            "experiment",
            "--dataset",
            str(recorded / "dataset.jsonl"),
            "--out",
            str(recorded),
            "--options",
            '{"cross_check_rounds": 0}',
            "--no-progress",
        )
    with pytest.raises(CommandError, match="dataset file"):
        call_command("llm", "experiment", "--out", str(recorded / "new"), "--no-progress")
    with pytest.raises(CommandError, match="--modes"):
        call_command(
            "llm",
            "experiment",
            "--dataset",
            str(DATASET),
            "--modes",
            "turbo",
            "--out",
            str(recorded / "new"),
            "--no-progress",
        )


RUN_SLOW_EXPERIMENT = """
import sys
import django
django.setup()
import tests.slow_test_provider  # registers the 'slowtest' provider
from django.core.management import call_command
call_command("llm", "experiment", "--dataset", sys.argv[1], "--models", "slowtest:m",
             "--limit", "4", "--out", sys.argv[2], "--no-progress")
"""


def _start(out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", RUN_SLOW_EXPERIMENT, str(DATASET), str(out)],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.processes
def test_a_killed_experiment_resumes_and_runs_every_cell_exactly_once(tmp_path):
    out = tmp_path / "resumable"
    first = _start(out)
    deadline = time.monotonic() + 120  # generous: the machine may be loaded
    while time.monotonic() < deadline:
        done = (out / "runs.jsonl").read_text().count("\n") if (out / "runs.jsonl").exists() else 0
        if done >= 2 or first.poll() is not None:
            break
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=60)
    before = (out / "runs.jsonl").read_text().count("\n")
    assert 2 <= before < 8, "the kill should land mid-grid"

    second = _start(out)
    stdout, stderr = second.communicate(timeout=300)
    assert second.returncode == 0, stderr
    assert json.loads(stdout)["ran"] == 8 - before
    cells = [json.loads(line)["cell"] for line in (out / "runs.jsonl").read_text().splitlines()]
    assert len(cells) == len(set(cells)) == 8
    assert all(run["status"] == "succeeded" for run in runs(out).values())


@pytest.mark.embedded
def test_a_real_mini_run_on_the_embedded_model(tmp_path, monkeypatch):
    """The whole review of one pillar set in both modes on the real model, through the
    experiment runner (the thesis path): schema-valid results and the report."""
    from backend.llm.config import reset_config
    from backend.pillars.llm.schemas import PillarsEvaluation

    # A generous deadline: the tiny model writes the whole review at a few tokens a second
    # when the machine is busy, and a run cut off at its deadline would fail this test.
    monkeypatch.setenv("LLM_ORCHESTRATOR_DEFAULT_TIMEOUT_MS", "900000")
    reset_config()
    # One small labelled set: the pipeline is under test, not the model's stamina.
    dataset = tmp_path / "one.jsonl"
    item = {
        "id": "ps-901",
        "context": {"genre": "roguelike", "platform": "PC", "audience": "adults"},
        "pillars": [
            {"name": "Every fight is a puzzle", "description": "Combat rewards planning."},
            {"name": "Fast and frantic", "description": "Players react in split seconds."},
            {"name": "Runs are short", "description": "A run lasts twenty minutes."},
        ],
        "labels": {
            "contradictions": [
                {
                    "pillars": ["Every fight is a puzzle", "Fast and frantic"],
                    "reason": "Planning needs time; split-second reactions leave none.",
                }
            ],
            "missing_areas": ["progression"],
            "context_misfits": [],
        },
        "clean": False,
    }
    dataset.write_text(json.dumps(item) + "\n")
    out = tmp_path / "mini"
    call_command(
        "llm",
        "experiment",
        "--dataset",
        str(dataset),
        "--models",
        "local",
        "--out",
        str(out),
        "--concurrency",
        "2",
        "--no-progress",
    )
    produced = {run["mode"]: run for run in runs(out).values()}
    assert set(produced) == {"monolithic", "agentic"}
    for mode, run in produced.items():
        assert run["status"] in ("succeeded", "degraded"), run["error"]
        evaluation = PillarsEvaluation.model_validate(run["results"])
        assert evaluation.model_dump(mode="json") == run["results"]
        assert run["score"]["schema_valid"]
        meta = run["metadata"]
        assert meta["execution_mode"] == mode
        assert meta["models_used"] == ["local:smollm2-135m-instruct.q4_1"]
    agentic = produced["agentic"]["metadata"]
    assert sorted(agentic["agentic"]["agents"]) == ["completeness", "context", "contradictions"]
    assert {n["node"] for n in agentic["nodes"]} >= {"agent:completeness", "cross_check:1"}
    assert [n["node"] for n in produced["monolithic"]["metadata"]["nodes"]] == ["generate"]

    call_command("llm", "report", str(out))
    for name in ("runs.jsonl", "calls.jsonl", "report.md", "report.html"):
        assert (out / name).stat().st_size > 0
    for plot in ("quality", "latency", "quality_vs_tokens", "agents"):
        assert (out / "plots" / f"{plot}.png").read_bytes().startswith(b"\x89PNG")
    assert "data:image/png;base64," in (out / "report.html").read_text()


@pytest.mark.processes
def test_a_run_that_timed_out_live_replays_as_the_same_failure(tmp_path):
    """A call cut off at the run's deadline has no recorded answer: the replay must end
    the cell the way the live run ended, not report a missing record."""
    out = tmp_path / "deadline"
    script = RUN_SLOW_EXPERIMENT.replace('"--limit", "4"', '"--limit", "2"')
    done = subprocess.run(
        [sys.executable, "-c", script, str(DATASET), str(out)],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            # Agentic runs take two 0.3 s phases; monolithic runs one.
            "LLM_ORCHESTRATOR_DEFAULT_TIMEOUT_MS": "450",
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    live = runs(out)
    assert {run["status"] for run in live.values() if run["mode"] == "agentic"} == {"failed"}
    assert all(run["error"]["code"] == "timeout" for run in live.values() if run["error"])
    import tests.slow_test_provider  # the replay resolves the same provider name
    from backend.llm.providers import unregister_provider

    try:
        call_command("llm", "experiment", "--out", str(out), "--replay", "--no-progress")
    finally:
        unregister_provider("slowtest")
    assert tests.slow_test_provider.SlowTestProvider.provider_name == "slowtest"
    replayed = runs(out)
    for cell, run in live.items():
        assert replayed[cell]["status"] == run["status"], cell
        assert replayed[cell]["error"] == run["error"], cell
        assert replayed[cell]["score"] == run["score"], cell


@pytest.mark.parametrize(("options", "shown"), [({"temperature": 0}, 0.0), ({}, 0.2)])
def test_the_report_header_shows_the_temperature_each_run_used(options, shown):
    from backend.experiments.report import _temperature

    assert _temperature(options) == shown


def test_replay_uses_the_recorded_model_whatever_the_configuration_names(
    recorded, no_embedded_model, monkeypatch, tmp_path
):
    """A user who has since pointed ``local`` at another GGUF file still replays the
    recorded experiment: the replay answers with the model the records name."""
    from backend.llm.config import reset_config

    other = tmp_path / "qwen2.5-7b-instruct-q4_k_m.gguf"
    other.write_bytes(b"GGUF")
    monkeypatch.setenv("LLM_ORCHESTRATOR_LOCAL_MODEL_PATH", str(other))
    reset_config()
    live = runs(recorded)
    call_command("llm", "experiment", "--out", str(recorded), "--replay", "--no-progress")
    replayed = runs(recorded)
    for cell, run in live.items():
        assert replayed[cell]["score"] == run["score"], cell
        assert observed(replayed[cell]) == observed(run), cell


KNOWN = ROOT / "tests" / "fixtures" / "known-answers"


def test_a_report_on_runs_with_known_answers(tmp_path):
    """Synthetic runs in the documented row format (4 items x 2 modes x 2 repeats), every
    number below derived by hand (tests/fixtures/known-answers)."""
    out = tmp_path / "known"
    shutil.copytree(KNOWN, out)
    call_command("llm", "report", str(out), stdout=StringIO())
    report = json.loads((out / "report.json").read_text())
    rows = {(r["metric"], r["family"]): r for r in report["comparisons"]}
    f1 = rows[("missing_area_f1", "confirmatory")]
    # Item means: monolithic 0.5, 0.5, 0.0, 1.0; agentic 1.0, 0.5, 0.5, 1.0.
    assert f1["n_items"] == 4
    assert f1["mean_a"] == pytest.approx(0.5)
    assert f1["mean_b"] == pytest.approx(0.75)
    # Differences 0.5, 0, 0.5, 0: mean 0.25, sd sqrt(1/12).
    assert f1["mean_difference"] == pytest.approx(0.25)
    assert f1["sd_difference"] == pytest.approx((1 / 12) ** 0.5)
    assert f1["cohens_dz"] == pytest.approx(0.25 / (1 / 12) ** 0.5)
    # Exact sign flips: |mean| reaches 0.25 when the two 0.5s share a sign: 8 of 16.
    assert f1["p_value"] == pytest.approx(0.5)
    assert f1["p_holm"] == pytest.approx(0.5)  # a family of one
    # Ranks of |d| (0, 0, 0.5, 0.5) are 1.5, 1.5, 3.5, 3.5: r = (3.5 + 3.5) / 10.
    assert f1["rank_biserial"] == pytest.approx(0.7)
    # Within-item sd: monolithic repeats (0, 1), (0.5, 0.5), (0, 0), (1, 1) -> sds
    # 0.7071, 0, 0, 0, averaged over the 4 items with two repeats.
    assert f1["within_item_sd_a"] == pytest.approx(0.70710678 / 4)
    latency = rows[("latency_ms", "exploratory")]
    assert latency["mean_difference"] == pytest.approx(2500.0)  # (2000 * 3 + 4000) / 4
    assert latency["p_holm"] is None  # exploratory rows are not in the family
    # The tidy export: one row per item x mode, the item means.
    lines = (out / "items.csv").read_text().splitlines()
    assert len(lines) == 1 + 8
    header = lines[0].split(",")
    ps003 = next(line.split(",") for line in lines if line.startswith("ps-003,model-x,agentic"))
    assert ps003[header.index("missing_area_f1")] == "0.5"
    assert "\\toprule" in (out / "tables.tex").read_text()
    assert (out / "plots" / "quality.svg").read_text().lstrip().startswith("<?xml")
    report_md = (out / "report.md").read_text()
    assert "No floors" in report_md  # the dataset is not there: said, not guessed
    assert "sign-flip" in report_md
    assert "missing_area_f1 x (agentic - monolithic)" in report_md
