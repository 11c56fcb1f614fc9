"""Dataset version 2: rules, library, generator, check, and agreement arithmetic."""

from __future__ import annotations

import json
import random
import shutil
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from backend.experiments.agreement import agreement, cohen_kappa, jaccard
from backend.experiments.card import (
    composition_markdown,
    floor_markdown,
    floor_scores,
    tier_markdown,
    tier_rows,
)
from backend.experiments.dataset import PillarSetItem, dataset_sha256, load_dataset
from backend.experiments.generator import build_dataset, dataset_lines
from backend.experiments.lexical import announces_problem, has_negation, shared_stems
from backend.experiments.library import LibraryError, load_library
from backend.experiments.rules import Facets, required_areas, rules_markdown
from backend.pillars.llm.areas import AREA_SPECS, DesignArea

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT / "datasets"
V2 = DATASETS / "pillars-v2.jsonl"
LIBRARY = DATASETS / "library"
NATURAL = DATASETS / "source" / "natural.jsonl"


@pytest.fixture(scope="module")
def items() -> list[PillarSetItem]:
    return load_dataset(V2)


def test_the_committed_dataset_is_what_the_generator_makes():
    assert dataset_lines(build_dataset(LIBRARY, NATURAL)) == V2.read_text(encoding="utf-8")


def test_another_seed_makes_another_dataset_with_the_same_rules():
    other = build_dataset(LIBRARY, NATURAL, seed=7)
    assert dataset_lines(other) != V2.read_text(encoding="utf-8")
    assert len(other) == len(load_dataset(V2))


def test_dataset_check_passes_and_prints_the_tier_table():
    out = StringIO()
    call_command(
        "llm",
        "dataset",
        "check",
        "--dataset",
        str(V2),
        "--library",
        str(LIBRARY),
        "--natural",
        str(NATURAL),
        stdout=out,
    )
    text = out.getvalue()
    assert text.rstrip().endswith("OK")
    assert "| contradiction | subtle |" in text
    assert "| misfit | subtle |" in text
    assert "lexical finder" in text


def test_dataset_check_fails_an_unbalanced_dataset(tmp_path, items):
    # Only the clean items: no contradictions, no misfits, too few.
    path = tmp_path / "clean.jsonl"
    path.write_text(dataset_lines([i for i in items if i.clean]))
    with pytest.raises(CommandError, match=r"with a contradiction: 0%") as raised:
        call_command(
            "llm",
            "dataset",
            "check",
            "--dataset",
            str(path),
            "--library",
            str(tmp_path / "none"),
            stdout=StringIO(),
        )
    assert "fewer than 200" in str(raised.value)


def test_size_balance_and_splits(items):
    n = len(items)
    assert n >= 200
    assert sum(i.clean for i in items) / n >= 0.3
    assert sum(bool(i.labels.contradictions) for i in items) / n >= 0.3
    assert sum(bool(i.labels.context_misfits) for i in items) / n >= 0.3
    dev = [i for i in items if i.split == "dev"]
    assert 0.1 <= len(dev) / n <= 0.25

    # No game is in both splits.
    def game(i: PillarSetItem) -> tuple[str | None, str | None]:
        return (i.context.title, i.context.genre)

    assert not {game(i) for i in dev} & {game(i) for i in items if i.split == "test"}


def test_subtle_plants_escape_the_lexical_finder_and_explicit_ones_do_not(items):
    rows = {(kind, tier): (planted, caught) for kind, tier, planted, caught in tier_rows(items)}
    for kind in ("contradiction", "misfit"):
        planted, caught = rows[(kind, "subtle")]
        assert caught / planted < 0.1
        assert planted >= sum(p for (k, _), (p, _) in rows.items() if k == kind) / 2
    planted, caught = rows[("contradiction", "explicit")]
    assert caught / planted > 0.5


def test_every_v2_item_derives_its_missing_areas_from_the_rule(items):
    for item in items:
        assert item.facets is not None
        assert item.labels.pillar_areas is not None
        covered = {a for areas in item.labels.pillar_areas.values() for a in areas}
        grades = required_areas(item.facets)
        assert set(item.labels.missing_areas) == grades.must - covered
        assert set(item.labels.missing_should) == grades.should - covered


def test_a_wrong_missing_area_is_rejected(items):
    raw = json.loads(dataset_lines([items[-1]]))
    raw["labels"]["missing_areas"] = [*raw["labels"]["missing_areas"], "live_operations"]
    raw["labels"]["missing_should"] = [
        a for a in raw["labels"]["missing_should"] if a != "live_operations"
    ]
    with pytest.raises(ValueError, match="missing_areas must be"):
        PillarSetItem.model_validate(raw)


def test_a_single_player_game_never_misses_social():
    for family in ("competitive", "party", "rpg"):
        grades = required_areas(
            Facets(
                family=family,
                platform="pc",
                audience="adults",
                business="premium",
                players="single",
            )
        )
        assert DesignArea.SOCIAL not in grades.must | grades.should
    multi = required_areas(
        Facets(
            family="rpg",
            platform="mobile",
            audience="children",
            business="free_to_play",
            players="multi",
        )
    )
    assert {
        DesignArea.SOCIAL,
        DesignArea.SESSION_STRUCTURE,
        DesignArea.ONBOARDING,
        DesignArea.MONETISATION,
    } <= multi.must
    assert not multi.must & multi.should


def test_the_readme_shows_the_rules_vocabulary_and_card_of_the_committed_data(items):
    readme = (DATASETS / "README.md").read_text()
    assert rules_markdown() in readme
    assert composition_markdown(items) in readme
    assert tier_markdown(items) in readme
    assert floor_markdown(items) in readme
    for area, spec in AREA_SPECS.items():
        assert f"| `{area}` | {spec.definition} |" in readme
    assert set(AREA_SPECS) == set(DesignArea)


def test_lexical_finder_words():
    assert has_negation("No timers, ever")
    assert has_negation("You can't pause")
    assert not has_negation("Knots and notes")
    assert shared_stems("No timers", "A ticking timer on every level") == {"tim"}
    assert not shared_stems("Crops wither by the hour", "Your village waits for you")
    assert announces_problem("Hardcore permadeath")
    assert not announces_problem("One life")


def test_the_library_rejects_a_fake_subtle_plant(tmp_path):
    family = (LIBRARY / "action.toml").read_text()
    data_dir = tmp_path / "lib"
    data_dir.mkdir()
    target = load_library(LIBRARY)[0].pillars[0]
    fake = f'''
[[plants]]
key = "fake-subtle"
name = "Hardcore version of it"
description = "{target.description} Not really, never."
areas = ["challenge"]
conflicts_with = "{target.key}"
reason = "It negates the target word for word, which is lexical."
difficulty = "subtle"
'''
    (data_dir / "action.toml").write_text(family + fake)
    with pytest.raises(LibraryError, match="fake-subtle") as raised:
        load_library(data_dir)
    assert "negation" in str(raised.value)
    assert "announces" in str(raised.value)


def test_cohen_kappa_and_jaccard_on_known_answers():
    # 10 items: both say yes on 4, no on 4, disagree on 2 -> po 0.8, pe 0.5, kappa 0.6.
    a = [True] * 5 + [False] * 5
    b = [True] * 4 + [False] + [True] + [False] * 4
    assert cohen_kappa(a, b) == pytest.approx(0.6)
    assert cohen_kappa(a, a) == pytest.approx(1.0)
    assert cohen_kappa([True] * 4, [True] * 4) is None
    assert jaccard(set(), set()) == 1.0
    assert jaccard({1, 2}, {2, 3}) == pytest.approx(1 / 3)


def test_kappa_agrees_with_a_simulated_rater_of_known_reliability():
    """Two raters who copy a truth with prob. q and otherwise guess at the base rate p:
    their expected kappa is q**2 (the guesses agree by chance only)."""
    rng = random.Random(3)
    p, q, n = 0.4, 0.8, 40_000
    truth = [rng.random() < p for _ in range(n)]

    def rate() -> list[bool]:
        return [t if rng.random() < q else rng.random() < p for t in truth]

    assert cohen_kappa(rate(), rate()) == pytest.approx(q**2, abs=0.02)


def test_agreement_of_a_labelling_with_itself_and_with_a_change(items):
    natural = [i for i in items if i.source == "natural"]
    same = agreement(natural, natural)
    assert same.contradiction_kappa == 1.0
    assert same.must_jaccard == 1.0
    assert not any(same.differ.values())
    first = next(i for i in natural if i.labels.contradictions)
    emptied = first.model_copy(
        update={"labels": first.labels.model_copy(update={"contradictions": []})}
    )
    changed = [emptied if i.id == first.id else i for i in natural]
    result = agreement(natural, changed)
    assert result.differ["contradictions"] == [first.id]
    assert result.contradiction_kappa is not None
    assert result.contradiction_kappa < 1.0


def test_blind_export_has_no_labels_and_agreement_needs_the_frozen_hash(tmp_path):
    out = StringIO()
    call_command("llm", "dataset", "blind", "--dataset", str(V2), stdout=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines
    assert all(set(line) == {"id", "context", "pillars"} for line in lines)
    second = tmp_path / "second.jsonl"
    shutil.copy(NATURAL, second)
    with pytest.raises(CommandError, match="changed since it was frozen"):
        _agreement(V2, second, "0" * 64)
    assert _agreement(V2, second, dataset_sha256(second))["contradiction_kappa"] == 1.0


def _agreement(first: Path, second: Path, sha256: str) -> dict[str, Any]:
    out = StringIO()
    call_command(
        "llm", "dataset", "agreement", "--dataset", str(first), "--second", str(second),
        "--sha256", sha256, stdout=out,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(out.getvalue())
    return result


def test_floors_score_what_they_should(items):
    floors = floor_scores(items)
    null = floors["null (finds nothing)"]
    # Finding nothing is never a false positive, and recalls nothing.
    assert null["false_positive"] == 0.0
    assert null["misfit_recall"] == 0.0
    assert null["contradiction_recall"] == 0.0
    everything = floors["all areas missing"]
    assert everything["missing_area_recall"] == 1.0
    precision = everything["missing_area_precision"]
    assert precision is not None
    assert precision < 0.5


def test_v1_stays_loadable():
    v1 = load_dataset(DATASETS / "pillars-v1.jsonl")
    assert len(v1) == 40
    assert all(i.split is None and i.facets is None for i in v1)


def test_an_experiment_runs_on_the_test_split_by_default(items):
    from backend.experiments.runner import ExperimentParams

    def params(split: str | None) -> ExperimentParams:
        return ExperimentParams(
            dataset=str(V2),
            dataset_sha256="x",
            modes=["monolithic"],
            models=["local"],
            repeats=1,
            split=split,
        )

    dev = [i for i in items if params("dev").selects(i)]
    test = [i for i in items if params("test").selects(i)]
    assert {i.split for i in dev} == {"dev"}
    assert {i.split for i in test} == {"test"}
    assert len(dev) + len(test) == len(items) == len([i for i in items if params(None).selects(i)])
    # Version 1 has no splits: all of it is test.
    v1 = load_dataset(DATASETS / "pillars-v1.jsonl")
    assert all(params("test").selects(i) for i in v1)
    assert not any(params("dev").selects(i) for i in v1)


def test_the_reported_labeller_agreement_reproduces():
    measured = _agreement(
        DATASETS / "agreement" / "natural-first-labeller.jsonl",
        DATASETS / "agreement" / "natural-second-labeller.jsonl",
        "aac50bd8dea159465072b2227eea2dc14e124c3563b9a388f9db8a4617164452",
    )
    readme = (DATASETS / "README.md").read_text()
    for key in ("contradiction_kappa", "misfit_kappa", "must_jaccard"):
        assert f"**{measured[key]:.3f}**" in readme
    for key in ("contradiction_pair_f1", "must_should_jaccard"):
        assert f"| {measured[key]:.3f} |" in readme
    assert measured["contradiction_kappa"] >= 0.8
    assert measured["misfit_kappa"] >= 0.8
    assert measured["must_jaccard"] >= 0.7
