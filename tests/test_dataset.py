"""The labelled dataset: every line valid, labels name the set's own pillars."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from backend.experiments.dataset import DatasetError, PillarSetItem, load_dataset
from backend.pillars.llm.areas import AREA_DEFINITIONS, DesignArea

DATASET = Path(__file__).resolve().parent.parent / "datasets" / "pillars-v1.jsonl"


def test_every_line_is_a_valid_pillar_set():
    items = load_dataset(DATASET)
    assert len(items) >= 30
    assert all(3 <= len(item.pillars) <= 8 for item in items)
    # Varied games: genres and platforms do not repeat much.
    assert len({item.context.genre for item in items}) >= 30
    assert len({item.context.platform for item in items}) >= 8


def test_about_a_quarter_of_the_sets_are_clean():
    items = load_dataset(DATASET)
    clean = [item for item in items if item.clean]
    assert 0.2 <= len(clean) / len(items) <= 0.35
    assert all(not i.labels.contradictions and not i.labels.context_misfits for i in clean)
    planted = [item for item in items if not item.clean]
    assert sum(len(i.labels.contradictions) for i in planted) >= 20
    assert sum(len(i.labels.context_misfits) for i in planted) >= 10


def test_every_label_names_pillars_of_its_own_set():
    for line in DATASET.read_text().splitlines():
        raw = json.loads(line)
        names = {" ".join(p["name"].casefold().split()) for p in raw["pillars"]}
        for label in raw["labels"]["contradictions"]:
            assert {" ".join(n.casefold().split()) for n in label["pillars"]} <= names
        for misfit in raw["labels"]["context_misfits"]:
            assert " ".join(misfit["pillar"].casefold().split()) in names


def test_missing_areas_come_from_the_vocabulary_and_vary():
    items = load_dataset(DATASET)
    used = Counter(area for item in items for area in item.labels.missing_areas)
    assert set(used) <= set(DesignArea)
    assert len(used) >= 12
    assert set(AREA_DEFINITIONS) == set(DesignArea)


def _item(**changes):
    base = json.loads(DATASET.read_text().splitlines()[0])
    base.update(changes)
    return base


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {
                "labels": {
                    "contradictions": [
                        {
                            "pillars": ["Nope", "Ten-minute evenings"],
                            "reason": "names a pillar that is not there",
                        }
                    ]
                }
            },
            "two pillars of the set",
        ),
        (
            {"labels": {"context_misfits": [{"pillar": "Nope", "reason": "not a pillar of it"}]}},
            "not a pillar of the set",
        ),
        ({"clean": True}, "clean must be true exactly"),
        ({"labels": {"missing_areas": ["marketing"]}}, "missing_areas"),
    ],
)
def test_bad_labels_are_rejected(change, message):
    with pytest.raises(ValueError, match=message):
        PillarSetItem.model_validate(_item(**change))


def test_a_bad_line_is_reported_with_its_number(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(DATASET.read_text().splitlines()[0] + "\n{not json\n")
    with pytest.raises(DatasetError, match=r"bad.jsonl:2"):
        load_dataset(path)
