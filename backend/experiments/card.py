"""The dataset card's numbers: composition, the lexical finder per tier, and the floors.

Floors are answers that need no understanding, scored exactly like a model's answers
(``score_cell``): a reported score means something only above them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from itertools import combinations
from statistics import fmean
from typing import Any

from backend.pillars.llm.areas import DesignArea

from .dataset import PillarSetItem, normalize_name
from .lexical import announces_problem, catches, context_text, lexical_cues, pillar_text
from .scoring import QUALITY_METRICS, CellScore, score_cell

__all__ = [
    "FLOORS",
    "Floor",
    "composition_markdown",
    "difficulty_mismatches",
    "floor_cells",
    "floor_markdown",
    "floor_scores",
    "label_counts",
    "lexical_answer",
    "tier_markdown",
    "tier_rows",
]

Floor = Callable[[PillarSetItem, list[PillarSetItem]], dict[str, Any]]


def _texts(item: PillarSetItem) -> tuple[dict[str, str], str]:
    """The finder's view of an item: each pillar's text by name, and the context's."""
    texts = {p.name: pillar_text(p.name, p.description) for p in item.pillars}
    fields = item.context.model_dump().values()
    return texts, context_text(v for v in fields if isinstance(v, str))


def _lexical_findings(item: PillarSetItem) -> tuple[list[tuple[str, str]], list[str]]:
    """The pairs and the pillars (misfits) the lexical finder flags."""
    texts, context = _texts(item)
    pairs = [(a, b) for a, b in combinations(texts, 2) if catches(texts[a], texts[b])]
    return pairs, [name for name, text in texts.items() if catches(text, context)]


def _answer(
    item: PillarSetItem,
    pairs: Iterable[tuple[str, str]] = (),
    missing: Iterable[DesignArea] = (),
    misfits: Iterable[str] = (),
) -> dict[str, Any]:
    """A schema-valid ``pillars.evaluate`` answer with the given findings."""
    pairs, flagged = list(pairs), {normalize_name(m) for m in misfits}
    return {
        "completeness": {
            "is_complete": False,
            "score": 50,
            "covered_areas": [],
            "missing_areas": [{"area": a, "why_it_matters": "floor"} for a in missing],
            "feedback": "a floor answer",
        },
        "contradictions": {
            "has_contradictions": bool(pairs),
            "contradictions": [
                {"pillar_a": a, "pillar_b": b, "explanation": "floor", "severity": "high"}
                for a, b in pairs
            ],
            "feedback": "a floor answer",
        },
        "context_alignment": {
            "overall_score": 50,
            "pillars": [
                {
                    "pillar_name": p.name,
                    "score": 10 if normalize_name(p.name) in flagged else 90,
                    "notes": "floor",
                }
                for p in item.pillars
            ],
            "feedback": "a floor answer",
        },
        "overall_score": 50,
        "summary": "a floor answer",
    }


def lexical_answer(item: PillarSetItem, _reference: list[PillarSetItem]) -> dict[str, Any]:
    """Flags every pair sharing a stem with a negation, and every pillar that does so
    with the context."""
    pairs, misfits = _lexical_findings(item)
    return _answer(item, pairs, misfits=misfits)


def _null(item: PillarSetItem, _reference: list[PillarSetItem]) -> dict[str, Any]:
    return _answer(item)


def _all_areas(item: PillarSetItem, _reference: list[PillarSetItem]) -> dict[str, Any]:
    return _answer(item, missing=list(DesignArea))


def _majority(item: PillarSetItem, reference: list[PillarSetItem]) -> dict[str, Any]:
    """The reference items' most common must areas, as many as they have on average (the
    card learns from the dev split, a report from the other items: leave-one-out)."""
    counts = Counter(a for i in reference for a in i.labels.missing_areas)
    k = round(fmean(len(i.labels.missing_areas) for i in reference)) if reference else 0
    return _answer(item, missing=[a for a, _ in counts.most_common(k)])


def _every_pillar_flagged(item: PillarSetItem, _reference: list[PillarSetItem]) -> dict[str, Any]:
    return _answer(item, misfits=[p.name for p in item.pillars])


FLOORS: dict[str, Floor] = {
    "null (finds nothing)": _null,
    "majority areas": _majority,
    "all areas missing": _all_areas,
    "every pillar flagged": _every_pillar_flagged,
    "lexical finder": lexical_answer,
}


def floor_cells(items: list[PillarSetItem]) -> dict[str, dict[str, CellScore]]:
    """Every floor's score on every item, the majority learning from the other items
    (leave-one-out): the report's floor rows."""
    return {
        name: {
            item.id: score_cell(item, floor(item, [i for i in items if i.id != item.id]))
            for item in items
        }
        for name, floor in FLOORS.items()
    }


def floor_scores(items: list[PillarSetItem]) -> dict[str, dict[str, float | None]]:
    """Mean scores of each floor on the test split (the majority learns from dev)."""
    dev = [i for i in items if i.split == "dev"]
    test = [i for i in items if i.split != "dev"]
    table = {}
    for name, floor in FLOORS.items():
        cells = [score_cell(item, floor(item, dev)) for item in test]
        table[name] = _means(cells)
    return table


def _means(cells: list[CellScore]) -> dict[str, float | None]:
    means: dict[str, float | None] = {}
    for metric in QUALITY_METRICS:
        values = [v for c in cells if (v := getattr(c, metric)) is not None]
        means[metric] = round(fmean(values), 3) if values else None
    return means


def difficulty_mismatches(item: PillarSetItem) -> list[str]:
    """Labels whose difficulty disagrees with the lexical definition (subtle: no cue)."""
    by_name, context = _texts(item)
    texts = {normalize_name(name): (name, text) for name, text in by_name.items()}
    wrong = []
    for c in item.labels.contradictions:
        (name_a, a), (name_b, b) = (texts[normalize_name(n)] for n in c.pillars)
        cues = lexical_cues(name_a, a, b, other_negation=True) or announces_problem(name_b)
        if c.difficulty is not None and (c.difficulty == "subtle") == bool(cues):
            wrong.append(f"{item.id}: contradiction {list(c.pillars)} is not {c.difficulty}")
    for m in item.labels.context_misfits:
        name, text = texts[normalize_name(m.pillar)]
        cues = lexical_cues(name, text, context, other_negation=False)
        if m.difficulty is not None and (m.difficulty == "subtle") == bool(cues):
            wrong.append(f"{item.id}: misfit {m.pillar!r} is not {m.difficulty}")
    return wrong


def tier_rows(items: list[PillarSetItem]) -> list[tuple[str, str, int, int]]:
    """(label kind, tier, planted, caught by the lexical finder)."""
    counts: Counter[tuple[str, str, bool]] = Counter()
    for item in items:
        found_pairs, found_misfits = _lexical_findings(item)
        pairs = {frozenset(normalize_name(n) for n in pair) for pair in found_pairs}
        flagged = {normalize_name(name) for name in found_misfits}
        for c in item.labels.contradictions:
            pair = frozenset(normalize_name(n) for n in c.pillars)
            counts[("contradiction", str(c.difficulty or "unrated"), pair in pairs)] += 1
        for m in item.labels.context_misfits:
            hit = normalize_name(m.pillar) in flagged
            counts[("misfit", str(m.difficulty or "unrated"), hit)] += 1
    keys = sorted({(kind, tier) for kind, tier, _ in counts})
    return [(k, t, counts[k, t, True] + counts[k, t, False], counts[k, t, True]) for k, t in keys]


def tier_markdown(items: list[PillarSetItem]) -> str:
    lines = ["| label | tier | planted | lexical finder catches | rate |", "|---|---|---|---|---|"]
    for kind, tier, planted, caught in tier_rows(items):
        lines.append(f"| {kind} | {tier} | {planted} | {caught} | {caught / planted:.0%} |")
    return "\n".join(lines)


def label_counts(items: list[PillarSetItem]) -> dict[str, int]:
    """How many items are clean, hold a contradiction, hold a misfit."""
    return {
        "clean": sum(i.clean for i in items),
        "with a contradiction": sum(bool(i.labels.contradictions) for i in items),
        "with a misfit": sum(bool(i.labels.context_misfits) for i in items),
    }


def composition_markdown(items: list[PillarSetItem]) -> str:
    def row(name: str, subset: list[PillarSetItem]) -> str:
        n = len(subset)
        shares = " | ".join(f"{k} ({k / n:.0%})" for k in label_counts(subset).values())
        return f"| {name} | {n} | {shares} |"

    lines = [
        "| items | n | clean | with a contradiction | with a misfit |",
        "|---|---|---|---|---|",
        row("all", items),
    ]
    for split in ("dev", "test"):
        lines.append(row(f"split {split}", [i for i in items if i.split == split]))
    for source in ("natural", "generated"):
        lines.append(row(source, [i for i in items if i.source == source]))
    for facet in ("family", "platform", "audience", "business", "players"):
        counts = Counter(str(getattr(i.facets, facet)) for i in items if i.facets)
        total = len(items)
        cells = ", ".join(f"{value} {n} ({n / total:.0%})" for value, n in sorted(counts.items()))
        lines += ["", f"**{facet}**: {cells}"]
    must = Counter(a for i in items for a in i.labels.missing_areas)
    should = Counter(a for i in items for a in i.labels.missing_should)
    lines += ["", "| area | missing (must) | missing (should) |", "|---|---|---|"]
    lines += [f"| `{a}` | {must[a]} | {should[a]} |" for a in DesignArea]
    return "\n".join(lines)


def floor_markdown(items: list[PillarSetItem]) -> str:
    scores = floor_scores(items)
    metrics = list(next(iter(scores.values())))
    lines = [
        "| floor (test split) | " + " | ".join(metrics) + " |",
        "|---" * (len(metrics) + 1) + "|",
    ]
    for name, values in scores.items():
        cells = ["n/a" if values[m] is None else f"{values[m]:.3f}" for m in metrics]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
