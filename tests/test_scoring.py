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


FITTING = [("Nothing is ever lost", 80), ("Hardcore permadeath", 80), ("Ten-minute evenings", 90)]


def test_a_perfect_answer_scores_one_everywhere():
    score = score_cell(
        item(),
        answer(
            pairs=[("hardcore  PERMADEATH", "Nothing is ever lost")],  # order, case, spaces
            missing=["economy", "core_loop"],
            context_scores=[
                ("Nothing is ever lost", 85),
                ("Hardcore permadeath", MISFIT_THRESHOLD - 1),
                ("Ten-minute evenings", 90),
            ],
        ),
    )
    assert (score.contradiction_precision, score.contradiction_recall) == (1.0, 1.0)
    assert score.contradiction_false_alarm is None  # the set has a contradiction
    assert score.missing_area_f1 == 1.0
    assert (score.misfit_precision, score.misfit_recall, score.misfit_auroc) == (1.0, 1.0, 1.0)
    assert score.false_positive is None  # only clean sets have false positives
    assert score.unresolved_names == 0.0
    assert score.schema_valid
    assert not score.failed


def test_an_empty_answer_on_a_labelled_set_recalls_nothing():
    score = score_cell(item(), answer(context_scores=FITTING))
    assert score.contradiction_precision is None  # nothing claimed: undefined, not 1
    assert score.contradiction_recall == 0.0
    assert score.missing_area_recall == 0.0
    assert score.misfit_recall == 0.0
    assert score.misfit_precision is None
    assert score.misfit_auroc == 0.75  # 80 ties one fitting pillar (80), is below 90


def test_an_empty_answer_on_a_clean_set_is_no_false_alarm():
    score = score_cell(
        item(clean=True), answer(missing=["core_loop", "economy"], context_scores=FITTING)
    )
    assert score.contradiction_false_alarm == 0.0
    assert score.contradiction_precision is None
    assert score.contradiction_recall is None  # nothing to recall: left out of means
    assert score.misfit_recall is None
    assert score.false_positive == 0.0


def test_claims_on_a_clean_set_are_false_alarms():
    flagged = score_cell(item(clean=True), answer(context_scores=[("Ten-minute evenings", 10)]))
    assert flagged.false_positive == 1.0
    assert flagged.misfit_precision == 0.0
    paired = score_cell(
        item(clean=True),
        answer(pairs=[("Nothing is ever lost", "Ten-minute evenings")], context_scores=FITTING),
    )
    assert paired.false_positive == 1.0
    assert paired.contradiction_false_alarm == 1.0
    assert paired.contradiction_precision is None  # precision is for sets with a plant


def test_low_severity_claims_are_tensions_and_do_not_count():
    low = answer(pairs=[("Nothing is ever lost", "Ten-minute evenings")], context_scores=FITTING)
    low["contradictions"]["contradictions"][0]["severity"] = "low"
    score = score_cell(item(clean=True), low)
    assert score.contradiction_false_alarm == 0.0
    assert score.false_positive == 0.0


@pytest.mark.parametrize(
    "reference",
    [
        '"Hardcore permadeath"',
        "Hardcore permadeath.",
        "Pillar 2: Hardcore permadeath",
        "2. Hardcore permadeath",
        "2",
        "Pillar 2",
        "Hardcore perma-death",
        "Hardcore permadaeth",  # a near miss: two edits
        "\u201cHardcore Permadeath\u201d",
    ],
)
def test_loose_references_to_a_pillar_resolve(reference):
    score = score_cell(
        item(), answer(pairs=[(reference, "Nothing is ever lost")], context_scores=FITTING)
    )
    assert score.contradiction_recall == 1.0, reference
    assert score.unresolved_names == 0.0


@pytest.mark.parametrize("reference", ["Permadeath mode", "9", "Something else", "Nothing"])
def test_unresolvable_references_are_counted_not_guessed(reference):
    score = score_cell(
        item(), answer(pairs=[(reference, "Nothing is ever lost")], context_scores=FITTING)
    )
    assert score.contradiction_recall == 0.0
    assert score.unresolved_names == pytest.approx(1 / 5)  # 2 pair names + 3 context names


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
            context_scores=[("Imaginary", 5), *FITTING],
        ),
    )
    assert score.contradiction_precision == pytest.approx(1 / 3, abs=1e-6)
    assert score.contradiction_recall == 1.0
    assert score.misfit_recall == 0.0  # a made-up name finds no misfit
    assert score.unresolved_names == pytest.approx(2 / 12, abs=1e-6)


def test_misfit_auroc_ranks_scores_without_a_threshold():
    # The misfit scores 60 (not flagged), the others 70 and 90: ranked lowest, AUROC 1.
    score = score_cell(
        item(),
        answer(
            context_scores=[
                ("Nothing is ever lost", 70),
                ("Hardcore permadeath", 60),
                ("Ten-minute evenings", 90),
            ]
        ),
    )
    assert score.misfit_auroc == 1.0
    assert score.misfit_recall == 0.0
    # Flagging every pillar: recall 1, precision 1/3.
    everything = score_cell(item(), answer(context_scores=[(n, 10) for n, _ in FITTING]))
    assert everything.misfit_recall == 1.0
    assert everything.misfit_precision == pytest.approx(1 / 3, abs=1e-6)


def test_partial_missing_areas():
    score = score_cell(
        item(), answer(missing=["economy", "audio", "social"], context_scores=FITTING)
    )
    assert score.missing_area_precision == pytest.approx(1 / 3, abs=1e-6)
    assert score.missing_area_recall == 0.5
    assert score.missing_area_f1 == pytest.approx(0.4)


def test_null_or_omitted_parts_score_the_worst_outcome():
    score = score_cell(
        item(clean=True), answer(contradictions=False, completeness=False), degraded=True
    )
    assert score.contradiction_false_alarm == 1.0  # not the 0 of a correct abstention
    assert score.false_positive == 1.0  # the omitted context part cannot clear the set
    assert score.missing_area_f1 == 0.0
    assert score.missing_area_recall == 0.0
    assert score.degraded
    assert score.schema_valid


def test_a_failed_run_scores_the_worst_outcome_and_is_not_schema_valid():
    for results in (None, {"summary": "not an evaluation"}):
        score = score_cell(item(), results)
        assert score.failed
        assert not score.schema_valid
        assert score.contradiction_recall == score.missing_area_recall == 0.0
        assert score.misfit_recall == score.misfit_auroc == 0.0
        assert score.contradiction_precision == 0.0
        assert score.unresolved_names is None
        clean = score_cell(item(clean=True), results)
        assert clean.false_positive == 1.0
        assert clean.contradiction_false_alarm == 1.0
