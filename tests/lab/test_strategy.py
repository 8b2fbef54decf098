"""StrategyConfig, validate_strategy and strategy_hash."""

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentctl.lab.strategy import (
    StrategyConfig,
    strategy_hash,
    strategy_json_schema,
    validate_strategy,
)

GOOD = {
    "name": "rsi-reversion",
    "hypothesis": "Oversold RSI on the index tends to revert the next day.",
    "dataset": {"symbol": "SP500", "timeframe": "1d"},
    "features": [{"function": "RSI", "params": {"timeperiod": 14}}, {"function": "BBANDS"}],
}


def with_(**changes):
    return {**GOOD, **changes}


def test_good_config_validates_with_defaults_filled():
    report = validate_strategy(GOOD)
    assert report.ok and report.errors == []
    cfg = report.config
    assert cfg.features[1].params == {"timeperiod": 20, "nbdevup": 2.0, "nbdevdn": 2.0, "matype": 0}
    assert cfg.feature_columns() == [
        "RSI_14_real",
        "BBANDS_20_2_2_0_upperband",
        "BBANDS_20_2_2_0_middleband",
        "BBANDS_20_2_2_0_lowerband",
    ]
    assert cfg.model.family == "hist_gradient_boosting"


def test_errors_list_the_valid_choices():
    def errors(raw):
        report = validate_strategy(raw)
        assert not report.ok and report.config is None
        return " | ".join(report.errors)

    assert "valid: SMA, EMA" in errors(with_(features=[{"function": "FOO"}]))
    assert "valid: timeperiod" in errors(with_(features=[{"function": "RSI", "params": {"period": 3}}]))
    assert "valid: upperband, middleband, lowerband" in errors(
        with_(features=[{"function": "BBANDS", "outputs": ["x"]}])
    )
    assert "out of range [2..200]" in errors(with_(features=[{"function": "RSI", "params": {"timeperiod": 500}}]))
    assert "must be an integer" in errors(with_(features=[{"function": "RSI", "params": {"timeperiod": 14.5}}]))
    assert "'logistic_regression'" in errors(with_(model={"family": "svm"}))
    assert "allowed: family, C, max_iter" in errors(with_(model={"family": "logistic_regression", "gamma": 1}))
    assert "available: " in errors(with_(dataset={"symbol": "BTC", "timeframe": "1d"}))
    assert "fastperiod < slowperiod" in errors(
        with_(features=[{"function": "MACD", "params": {"fastperiod": 30, "slowperiod": 10}}])
    )
    assert "duplicate feature column" in errors(with_(features=[{"function": "RSI"}, {"function": "rsi"}]))
    assert "name" in errors(with_(name="../../etc/passwd"))


def test_warnings_do_not_block():
    report = validate_strategy(with_(label={"classes": "up_flat_down", "threshold": 0}))
    assert report.ok
    assert any("flat class" in w for w in report.warnings)


@pytest.mark.parametrize("cost", ["fee_bps", "slippage_bps"])
@pytest.mark.parametrize("bps", [0, 0.5])
def test_costs_below_one_basis_point_are_an_error(cost, bps):
    report = validate_strategy(with_(trading={cost: bps}))
    assert not report.ok and report.config is None
    assert any(e.startswith(f"trading.{cost}: ") and "greater than or equal to 1" in e for e in report.errors)
    assert validate_strategy(with_(trading={cost: 1})).ok


def test_hash_ignores_name_hypothesis_defaults_and_feature_order():
    a = validate_strategy(GOOD).config
    b = validate_strategy(
        with_(
            name="other-name",
            hypothesis="Same thing, said differently.",
            features=[
                {"function": "bbands", "params": {"timeperiod": 20.0, "matype": 0}},
                {"function": "RSI"},
            ],
        )
    ).config
    assert strategy_hash(a) == strategy_hash(b)
    c = validate_strategy(with_(features=[{"function": "RSI", "params": {"timeperiod": 15}}])).config
    assert strategy_hash(c) != strategy_hash(a)
    assert len(strategy_hash(a)) == 64


def test_schema_is_compact_json():
    schema = strategy_json_schema()
    assert schema["type"] == "object"
    assert {"name", "hypothesis", "dataset", "features"} <= set(schema["required"])
    assert len(json.dumps(schema)) < 12_000


def test_config_round_trips_through_json():
    cfg = validate_strategy(GOOD).config
    again = StrategyConfig.model_validate_json(cfg.model_dump_json())
    assert again == cfg and strategy_hash(again) == strategy_hash(cfg)


NASTY = [
    None,
    0,
    "x",
    [],
    [GOOD],
    {},
    {"name": None},
    with_(features=[{"function": "RSI", "params": {"timeperiod": math.nan}}]),
    with_(features=[{"function": "RSI", "params": {"timeperiod": math.inf}}]),
    with_(features=[{"function": "RSI", "params": {"timeperiod": 10**400}}]),
    with_(features=[{"function": "R" * 100_000}]),
    with_(hypothesis="h" * 10_000_000),
    with_(features=[{"function": "RSI"}] * 5_000),
    with_(trading={"confidence": "high"}),
    with_(features="RSI"),
    with_(features=[{"function": "RSI", "params": [1, 2]}]),
    {"a": [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]},
    {1: 2, (1, 2): 3},
]


def test_nasty_inputs_are_reported_not_raised():
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    for raw in [*NASTY, with_(features=deep)]:
        report = validate_strategy(raw)
        assert not report.ok and report.errors
        assert all(len(e) <= 400 for e in report.errors)


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=30,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from([*GOOD, "label", "model", "trading", "x"]), json_values, max_size=7))
def test_fuzzed_configs_never_raise(raw):
    report = validate_strategy({**GOOD, **raw})
    assert report.ok == (report.config is not None)
    assert report.ok or report.errors


def test_a_bug_inside_validation_is_logged_and_still_refused(monkeypatch, caplog):
    from agentctl.lab import strategy

    quoted = "what the input said: " + GOOD["name"]

    def broken(config, home):
        raise KeyError(quoted)

    monkeypatch.setattr(strategy, "_dataset_errors", broken)
    with caplog.at_level("ERROR", logger="agentctl.lab.strategy"):
        report = validate_strategy(GOOD)
    assert not report.ok and report.errors == ["config could not be validated (KeyError)"]
    [record] = caplog.records
    assert "KeyError" in record.getMessage() and "_validate" in record.getMessage()
    assert quoted not in record.getMessage()  # frames only: the message may quote the input


def test_a_refused_config_is_not_logged(caplog):
    with caplog.at_level("ERROR", logger="agentctl.lab.strategy"):
        report = validate_strategy({**GOOD, "target": {"kind": "nonsense"}})
    assert not report.ok and report.errors
    assert caplog.records == []
