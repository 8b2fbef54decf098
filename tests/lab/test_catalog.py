"""The curated indicator catalog agrees with TA-Lib's own function metadata."""

import pytest
from talib import abstract

from agentctl.lab.catalog import INDICATORS, catalog_text
from agentctl.lab.strategy import indicator_catalog_text


@pytest.mark.parametrize("ind", INDICATORS, ids=lambda i: i.name)
def test_indicator_matches_talib_metadata(ind):
    info = abstract.Function(ind.name).info
    assert list(info["parameters"]) == [p.name for p in ind.params]
    assert tuple(info["output_names"]) == ind.outputs
    talib_inputs = [v for vs in info["input_names"].values() for v in ([vs] if isinstance(vs, str) else vs)]
    assert sorted(talib_inputs) == sorted(ind.inputs)
    for p in ind.params:
        assert p.low <= info["parameters"][p.name] <= p.high, p.name
        assert p.default == info["parameters"][p.name], p.name


def test_catalog_is_prompt_sized():
    text = indicator_catalog_text()
    assert text == catalog_text()
    assert 30 <= len(INDICATORS) <= 45
    assert len(text.encode()) < 5_000
    assert all(ind.name in text for ind in INDICATORS)
