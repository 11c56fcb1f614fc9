"""Scoring on hand-made answers, including empty answers and made-up pillar names."""

from __future__ import annotations

from typing import Any

import pytest

from backend.experiments.dataset import PillarSetItem
from backend.experiments.scoring import MISFIT_THRESHOLD, score_cell

PILLARS = [
    {"name": "Nothing is ever lost", "description": "No failure."},
    {"name": "Hardcore permadeath", "description": "Death wipes the save."},
    {"name": "Ten-minute evenings", "description": "Short sessions."},
]


def item(*, clean: bool = False) -> PillarSetItem:
    labels: dict[str, Any] = {"missing_areas": ["core_loop", "economy"]}
    if not clean:
        labels |= {
            "contradictions": [
                {
                    "pillars": ["Nothing is ever lost", "Hardcore permadeath"],
                    "reason": "loss vs none",
                }
            ],
            "context_misfits": [{"pillar": "Hardcore permadeath", "reason": "not cozy at all"}],
        }
    return PillarSetItem.model_validate(
        {
            "id": "ps-900",
            "context": {"genre": "cozy sim", "platform": "Switch"},
            "pillars": PILLARS,
            "labels": labels,
            "clean": clean,
        }
    )


def answer(pairs=(), missing=(), context_scores=None, *, completeness=True, contradictions=True):
    return {
        "completeness": {
            "is_complete": False,
            "score": 50,
            "covered_areas": [],
            "missing_areas": [{"area": a, "why_it_matters": "x"} for a in missing],
            "feedback": "",
        }
        if completeness
        else None,
        "contradictions": {
            "has_contradictions": bool(pairs),
            "contradictions": [
                {"pillar_a": a, "pillar_b": b, "explanation": "", "severity": "high"}
                for a, b in pairs
            ],
            "feedback": "",
        }
        if contradictions
        else None,
        "context_alignment": None
        if context_scores is None
        else {
            "overall_score": 50,
            "pillars": [{"pillar_name": n, "score": s, "notes": ""} for n, s in context_scores],
            "feedback": "",
        },
        "overall_score": 40,
        "summary": "",
    }


def test_a_perfect_answer_scores_one_everywhere():
    score = score_cell(
        item(),
        answer(
            pairs=[("hardcore  PERMADEATH", "Nothing is ever lost")],  # order, case, spaces
            missing=["economy", "core_loop"],
            context_scores=[
                ("Hardcore permadeath", MISFIT_THRESHOLD - 1),
                ("Ten-minute evenings", 90),
            ],
        ),
    )
    assert (score.contradiction_precision, score.contradiction_recall, score.contradiction_f1) == (
        1.0,
        1.0,
        1.0,
    )
    assert score.missing_area_f1 == 1.0
    assert score.misfit_recall == 1.0
    assert score.false_positive is None  # only clean sets have false positives
    assert score.schema_valid
    assert not score.failed


def test_an_empty_answer_on_a_labelled_set_recalls_nothing():
    score = score_cell(item(), answer())
    assert score.contradiction_precision is None  # nothing claimed: undefined, not 1
    assert score.contradiction_recall == 0.0
    assert score.contradiction_f1 == 0.0
    assert score.missing_area_recall == 0.0
    assert score.misfit_recall == 0.0


def test_an_empty_answer_on_a_clean_set_is_perfect_and_not_a_false_positive():
    score = score_cell(item(clean=True), answer(missing=["core_loop", "economy"]))
    assert score.contradiction_f1 == 1.0  # a correct abstention
    assert score.contradiction_precision is None
    assert score.contradiction_recall is None  # nothing to recall: left out of means
    assert score.misfit_recall is None
    assert score.false_positive is False


def test_claims_on_a_clean_set_are_false_positives():
    flagged = score_cell(item(clean=True), answer(context_scores=[("Ten-minute evenings", 10)]))
    assert flagged.false_positive is True
    paired = score_cell(
        item(clean=True), answer(pairs=[("Nothing is ever lost", "Ten-minute evenings")])
    )
    assert paired.false_positive is True
    assert paired.contradiction_precision == 0.0
    assert paired.contradiction_recall is None
    assert paired.contradiction_f1 == 0.0


def test_pillars_that_do_not_exist_and_self_pairs_only_count_against_precision():
    score = score_cell(
        item(),
        answer(
            pairs=[
                ("Nothing is ever lost", "Hardcore permadeath"),
                ("Made-up pillar", "Hardcore permadeath"),
                ("Ten-minute evenings", "ten-minute evenings"),
                ("Nothing is ever lost", "Hardcore permadeath"),  # a duplicate counts once
            ],
            context_scores=[("Imaginary", 5)],
        ),
    )
    assert score.contradiction_precision == pytest.approx(1 / 3, abs=1e-6)
    assert score.contradiction_recall == 1.0
    assert score.contradiction_f1 == pytest.approx(0.5)
    assert score.misfit_recall == 0.0  # a made-up name finds no misfit


def test_partial_missing_areas():
    score = score_cell(item(), answer(missing=["economy", "audio", "social"]))
    assert score.missing_area_precision == pytest.approx(1 / 3, abs=1e-6)
    assert score.missing_area_recall == 0.5
    assert score.missing_area_f1 == pytest.approx(0.4)


def test_a_null_part_scores_zero_not_a_free_one():
    score = score_cell(
        item(clean=True), answer(contradictions=False, completeness=False), degraded=True
    )
    assert score.contradiction_f1 == 0.0  # not the 1 of a correct abstention
    assert score.missing_area_f1 == 0.0
    assert score.missing_area_recall == 0.0
    assert score.degraded
    assert score.schema_valid


def test_a_failed_run_scores_zero_and_is_not_schema_valid():
    for results in (None, {"summary": "not an evaluation"}):
        score = score_cell(item(), results)
        assert score.failed
        assert not score.schema_valid
        assert score.contradiction_f1 == score.missing_area_recall == score.misfit_recall == 0.0
        assert score.contradiction_precision is None
        assert score.false_positive is None
