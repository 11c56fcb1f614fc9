"""The experiment grid (set x mode x model x repeat), run through ``aexecute`` with at most
K runs in flight, appended cell by cell to ``runs.jsonl``, resumable and replayable.

``DIR/experiment.json`` holds the parameters; rerunning in the same DIR skips the cells
already in ``runs.jsonl`` (a line cut short by a crash is dropped) and refuses other
parameters. Every model call is recorded in ``DIR/calls.jsonl`` (``backend.llm.recording``)
with each cell's timings; ``replay`` recomputes every cell from those records with no model.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from backend.llm import LLMOrchestrator
from backend.llm.config import get_config
from backend.llm.exceptions import LLMOrchestratorError
from backend.llm.providers import ModelManager
from backend.llm.recording import CURRENT_CELL, CallRecords
from backend.llm.types import ExecutionOptions, LLMRequest, LLMResponse

from ._provenance import code_commit
from .analysis import PRIMARY_DEFAULT
from .dataset import PillarSetItem, dataset_sha256, load_dataset
from .scoring import score_cell

__all__ = ["OPERATION", "Cell", "Experiment", "ExperimentError", "ExperimentParams"]

OPERATION = "pillars.evaluate"
RUNS, CALLS, PARAMS = "runs.jsonl", "calls.jsonl", "experiment.json"
_NAMESPACE = uuid.UUID("6f1c1d1e-6c77-4d0e-9a55-6b1f0d6b7a01")


class ExperimentError(Exception):
    """Parameters that do not fit the directory, or a replay that cannot be answered."""


class ExperimentParams(BaseModel):
    dataset: str
    dataset_sha256: str
    operation: str = OPERATION
    modes: list[str]
    models: list[str]
    repeats: int = Field(ge=1)
    options: dict[str, Any] = Field(default_factory=dict)
    limit: int | None = Field(default=None, ge=1)
    #: The dataset's split the grid runs on; None (experiments made before splits): all
    #: items. An item without a split (a version-1 dataset) belongs to the test split.
    split: Literal["dev", "test", "all"] | None = None
    #: Pre-registered before the first cell runs: the confirmatory metrics, the mode
    #: pairs compared (b - a, per model) and the difference the power analysis targets.
    primary: list[str] = Field(default_factory=lambda: list(PRIMARY_DEFAULT))
    comparisons: list[tuple[str, str]] = Field(default_factory=lambda: [("monolithic", "agentic")])
    target_difference: float = Field(default=0.05, gt=0)

    def selects(self, item: PillarSetItem) -> bool:
        if self.split in (None, "all"):
            return True
        return (item.split or "test") == self.split


@dataclass(frozen=True)
class Cell:
    item: PillarSetItem
    mode: str
    model: str
    repeat: int

    @property
    def id(self) -> str:
        return f"{self.item.id}|{self.mode}|{self.model}|{self.repeat}"

    def request(self, options: dict[str, Any]) -> LLMRequest:
        feature, _, operation = OPERATION.partition(".")
        return LLMRequest(
            feature=feature,
            operation=operation,
            data=self.item.request_data(),
            model_id=self.model,
            execution_mode=self.mode,
            options=ExecutionOptions.model_validate(options),
        )


def _timing(metadata: dict[str, Any] | None, wall_ms: float) -> dict[str, Any]:
    """What a replay cannot measure, so takes from the records: the run's timings."""
    if metadata is None:
        return {"wall_ms": wall_ms}
    agentic = metadata.get("agentic") or {}
    return {
        "wall_ms": wall_ms,
        "execution_time_ms": metadata["execution_time_ms"],
        "nodes": [
            {k: node[k] for k in ("node", "duration_ms", "started_at", "finished_at")}
            for node in metadata["nodes"]
        ],
        "agentic": {
            k: agentic[k]
            for k in (
                "parallel_phase_ms",
                "slowest_agent",
                "slowest_agent_ms",
                "waiting_on_slowest_ms",
            )
            if k in agentic
        },
    }


def _apply_timing(metadata: dict[str, Any] | None, timing: dict[str, Any]) -> None:
    if metadata is None:
        return
    metadata["execution_time_ms"] = timing["execution_time_ms"]
    recorded = {node["node"]: node for node in timing["nodes"]}
    for node in metadata["nodes"]:
        node.update(recorded.get(node["node"], {}))
    metadata["nodes"].sort(key=lambda node: list(recorded).index(node["node"]))
    if metadata.get("agentic"):
        metadata["agentic"].update(timing["agentic"])


class Experiment:
    def __init__(self, out: Path, params: ExperimentParams, *, replay: bool = False) -> None:
        self.out = out
        self.params = params
        self.replay = replay
        items = [i for i in load_dataset(Path(params.dataset)) if params.selects(i)]
        self.items = items[: params.limit]
        self.records = CallRecords(out / CALLS, "replay" if replay else "record")
        self.commit = code_commit()  # each row names the code that produced it
        manager = ModelManager(get_config(), wrap=self.records.recorder)
        self.orchestrator = LLMOrchestrator(model_manager=manager)

    @classmethod
    def open(cls, out: Path, params: ExperimentParams | None, *, replay: bool) -> Experiment:
        """The experiment in ``out``: new (with ``params``), resumed, or replayed."""
        stored = out / PARAMS
        if stored.exists():
            existing = ExperimentParams.model_validate_json(stored.read_text())
            if params is not None:
                _check_same(existing, params)
            if existing.dataset_sha256 != dataset_sha256(Path(existing.dataset)):
                raise ExperimentError(
                    f"The dataset {existing.dataset} changed since this experiment started "
                    "(its sha256 differs): use a new --out directory."
                )
            return cls(out, existing, replay=replay)
        if replay or params is None:
            raise ExperimentError(f"{out} holds no experiment ({PARAMS} is missing).")
        out.mkdir(parents=True, exist_ok=True)
        stored.write_text(params.model_dump_json(indent=2) + "\n")
        return cls(out, params, replay=False)

    def cells(self) -> list[Cell]:
        return [
            Cell(item, mode, model, repeat)
            for item in self.items
            for repeat in range(1, self.params.repeats + 1)
            for model in self.params.models
            for mode in self.params.modes
        ]

    def done(self) -> set[str]:
        """Cells already in runs.jsonl; a trailing line cut short by a crash is removed."""
        path = self.out / RUNS
        if not path.exists():
            return set()
        text = path.read_text(encoding="utf-8")
        if text and not text.endswith("\n"):
            text = text[: text.rfind("\n") + 1]
            path.write_text(text, encoding="utf-8")
        return {json.loads(line)["cell"] for line in text.splitlines() if line.strip()}

    def pending(self) -> list[Cell]:
        """The cells to run: every one in a replay, else those not in runs.jsonl yet."""
        if self.replay:
            return self.cells()
        done = self.done()
        return [cell for cell in self.cells() if cell.id not in done]

    async def run(
        self,
        todo: list[Cell],
        concurrency: int,
        on_done: Callable[[dict[str, Any]], None] | None = None,
    ) -> list[dict[str, Any]]:
        """Run ``todo`` (``pending()``); a replay rewrites runs.jsonl as a whole."""
        runs = self.out / RUNS
        target = self.out / (RUNS + ".replay") if self.replay else runs
        # Files are written off the loop (a slow disk must not stall the other cells).
        if self.replay:
            await asyncio.to_thread(target.unlink, missing_ok=True)
        gate = asyncio.Semaphore(concurrency)
        lines: list[dict[str, Any]] = []

        async def one(cell: Cell) -> None:
            async with gate:
                line = await self._run_cell(cell)
            await asyncio.to_thread(_append, target, line)
            lines.append(line)
            if on_done:
                on_done(line)

        await asyncio.gather(*(one(cell) for cell in todo))
        if self.replay:
            await asyncio.to_thread(os.replace, target, runs)
        return lines

    async def _run_cell(self, cell: Cell) -> dict[str, Any]:
        request = cell.request(self.params.options)
        token = CURRENT_CELL.set(cell.id)
        self.records.reset_cell(cell.id)
        started = time.perf_counter()
        response: LLMResponse | None = None
        error: dict[str, Any] | None = None
        try:
            response = await self.orchestrator.aexecute(
                request, run_id=str(uuid.uuid5(_NAMESPACE, cell.id))
            )
        except LLMOrchestratorError as exc:
            error = exc.to_dict()
        finally:
            CURRENT_CELL.reset(token)
        wall_ms = round((time.perf_counter() - started) * 1000, 3)
        live = self.records.cells.get(cell.id) if self.replay else None
        if self.replay and live is None:
            raise ExperimentError(f"The records hold no timings for cell {cell.id}.")
        missed = [miss for miss in self.records.misses if miss["cell"] == cell.id]
        if live is not None and live.get("error") is not None:
            # The live run failed; when that was at its deadline, a call was cut off in
            # flight and has no answer to replay: the replay ends the way the live run did.
            response, error = None, live["error"]
        elif missed:
            raise ExperimentError(f"A call of cell {cell.id} is not in the records: {missed[0]}.")
        metadata = response.metadata.model_dump(mode="json") if response else None
        if live is not None:
            _apply_timing(metadata, live)
            wall_ms = live["wall_ms"]
        else:
            timing = {**_timing(metadata, wall_ms), "error": error}
            await asyncio.to_thread(self.records.record_cell, cell.id, timing)
        degraded = bool(metadata and metadata["degraded"])
        results = response.results if response else None
        return {
            "cell": cell.id,
            "set_id": cell.item.id,
            "mode": cell.mode,
            "model": cell.model,
            "repeat": cell.repeat,
            "clean": cell.item.clean,
            "status": "failed" if response is None else "degraded" if degraded else "succeeded",
            "wall_ms": wall_ms,
            "request": request.model_dump(mode="json"),
            "results": results,
            "metadata": metadata,
            "error": error,
            "score": score_cell(cell.item, results, degraded=degraded).model_dump(),
            "code_commit": self.commit,
        }


_APPEND_LOCK = threading.Lock()


def _append(path: Path, line: dict[str, Any]) -> None:
    with _APPEND_LOCK, path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
        handle.flush()


def _check_same(existing: ExperimentParams, given: ExperimentParams) -> None:
    ignored = {"dataset"}  # the same file may be named by another path
    for field in ExperimentParams.model_fields:
        if field in ignored:
            continue
        if getattr(existing, field) != getattr(given, field):
            raise ExperimentError(
                f"This directory holds an experiment with {field}="
                f"{getattr(existing, field)!r}, not {getattr(given, field)!r}: rerun with the "
                "same parameters to resume, or choose a new --out directory."
            )
