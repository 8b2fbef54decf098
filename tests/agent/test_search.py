"""The baseline's search: seeded, rebuilt from what is recorded, never repeating, and learning from research results."""

from __future__ import annotations

from agentctl.agent import search
from agentctl.lab.strategy import strategy_hash, validate_strategy

DATASET = ("SP500", "1d")


def _hash(raw: dict, home) -> str:
    report = validate_strategy({"name": "x", "hypothesis": "-", **raw}, home)
    assert report.config is not None, report.errors
    return strategy_hash(report.config)


def test_the_same_seed_and_history_propose_the_same_strategy(tmp_path):
    a, pa = search.propose("7:1", [], DATASET, tmp_path, set())
    b, pb = search.propose("7:1", [], DATASET, tmp_path, set())
    assert a == b and pa == pb
    c, _ = search.propose("8:1", [], DATASET, tmp_path, set())
    assert c != a
    assert a["dataset"] == {"symbol": "SP500", "timeframe": "1d"}


def test_the_study_is_rebuilt_from_remembered_parameters_and_recorded_objectives(tmp_path):
    raw, params = search.propose("1:1", [], DATASET, tmp_path, set())
    chash = _hash(raw, tmp_path)
    search.remember(tmp_path, *DATASET, chash, params)
    # A kill after remembering leaves the file whole; an unknown hash (another designer's) is skipped.
    past = search.recall(tmp_path, *DATASET, {chash: 1.5, "f" * 64: 0.3})
    assert past == [search.Past(params, 1.5)]
    s = search.study("1:2", past, hourly=False)
    assert [t.value for t in s.trials] == [1.5] and s.trials[0].params == params


def test_a_tried_strategy_is_never_proposed_again(tmp_path):
    raw, params = search.propose("3:1", [], DATASET, tmp_path, set())
    tried = {_hash(raw, tmp_path)}
    again, _ = search.propose("3:1", [search.Past(params, 0.0)], DATASET, tmp_path, tried)
    assert _hash(again, tmp_path) not in tried


def test_tpe_learns_which_features_pay(tmp_path):
    """Objectives that reward lagged returns: after the random start, TPE proposes them far more often."""
    past: list[search.Past] = []
    for k in range(40):
        _, params = search.propose(f"5:{k}", past, DATASET, tmp_path, set())
        past.append(search.Past(params, 3.0 if params["lags"] else 0.0))
    late = [p.params["lags"] for p in past[search.STARTUP_TRIALS + 10 :]]
    assert sum(late) / len(late) > 0.8


def test_the_random_search_is_an_option(tmp_path):
    a, _ = search.propose("2:1", [], DATASET, tmp_path, set(), sampler="random")
    assert validate_strategy({"name": "x", "hypothesis": "-", **a}, tmp_path).config is not None
