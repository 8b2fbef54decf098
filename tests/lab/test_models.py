"""Every registered model family is one entry: the schema accepts it, the lab trains it, the baseline draws it."""

import random

import pytest
from lab_helpers import strategy

from agentctl.agent import baseline
from agentctl.lab.models import DEFAULT_FAMILY, FAMILIES, MODEL_FAMILIES, baseline_draws, sample
from agentctl.lab.strategy import StrategyConfig, strategy_json_schema, validate_strategy
from agentctl.lab.training import train


def test_the_schema_offers_exactly_the_registered_families():
    mapping = strategy_json_schema()["properties"]["model"]["discriminator"]["mapping"]
    assert set(mapping) == set(FAMILIES) == set(MODEL_FAMILIES)
    assert MODEL_FAMILIES[0] == DEFAULT_FAMILY


def test_a_strategy_without_a_model_gets_the_default_family():
    raw = strategy()
    del raw["model"]
    assert StrategyConfig.model_validate(raw).model.family == DEFAULT_FAMILY


@pytest.mark.parametrize("family", list(FAMILIES))
def test_family_is_sampled_validated_and_trained(family, tmp_path):
    spec = sample(family, random.Random(0))
    assert spec["family"] == family
    report = validate_strategy(strategy(model=spec))
    assert report.ok, report.errors
    assert type(report.config.model) is FAMILIES[family].spec
    result = train(report.config, tmp_path, tmp_path / "m.joblib")
    assert result.model_family == family and result.iterations >= 1
    assert 0 <= result.accuracy <= 1 and result.log_loss > 0


@pytest.mark.parametrize("family", list(FAMILIES))
def test_family_rejects_another_familys_fields(family):
    report = validate_strategy(strategy(model={"family": family, "no_such_param": 1}))
    assert not report.ok
    allowed = ", ".join(FAMILIES[family].spec.model_fields)
    assert any(f"allowed: {allowed}" in e for e in report.errors), report.errors


def test_the_baseline_draws_every_family_it_weights():
    rng = random.Random(0)
    drawn = {baseline._model(rng)["family"] for _ in range(200)}
    assert drawn == {name for name, f in FAMILIES.items() if f.baseline_weight > 0} == set(baseline_draws())
