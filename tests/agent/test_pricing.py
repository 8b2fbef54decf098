"""Prices: exact Decimal costs, cache tokens, long-prompt bands, effective dates, fail closed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from agentctl.pricing import PRICE_TABLE, TokenUsage, UnknownModel, cost, price_for, read_usage, to_ledger, worst_case

DAY = date(2026, 11, 23)


def test_every_kind_of_token_has_its_own_rate():
    price = price_for("claude-sonnet-5-5", DAY)
    usage = TokenUsage(
        input_tokens=1_000,
        output_tokens=2_000,
        cache_write_5m_tokens=10_000,
        cache_write_1h_tokens=3_000,
        cache_read_tokens=50_000,
    )
    # 1000*2 + 2000*10 + 10000*2.5 + 3000*4 + 50000*0.20, per million
    assert cost(price, usage) == Decimal("0.069")


def test_effective_dated_rows(monkeypatch):
    import agentctl.pricing as pricing

    cut = pricing.PriceRow("claude-sonnet-5-5", date(2026, 10, 7), pricing._flat("2", "10", "2.50", "4", "0.10"))
    monkeypatch.setattr(pricing, "PRICE_TABLE", (*pricing.PRICE_TABLE, cut))
    before = price_for("claude-sonnet-5-5", date(2026, 10, 6))
    after = price_for("claude-sonnet-5-5", date(2026, 10, 7))
    assert (before.base.cache_read, after.base.cache_read) == (Decimal("0.20"), Decimal("0.10"))


def test_long_prompt_band_reprices_every_token():
    price = price_for("claude-haiku-5-5", DAY)
    short = TokenUsage(input_tokens=100_000, output_tokens=1_000)
    long = TokenUsage(input_tokens=90_000, cache_read_tokens=10_001, output_tokens=1_000)
    assert cost(price, short) == Decimal("0.0105")
    assert cost(price, long) == Decimal("0.04800005")  # 90000*0.5 + 10001*0.05 + 1000*2.5


def test_read_usage_splits_cache_ttl():
    u = read_usage(
        {
            "input_tokens": 5,
            "output_tokens": 7,
            "cache_creation_input_tokens": 30,
            "cache_read_input_tokens": 11,
            "cache_creation": {"ephemeral_5m_input_tokens": 20, "ephemeral_1h_input_tokens": 10},
        }
    ).usage
    assert u is not None and (u.cache_write_5m_tokens, u.cache_write_1h_tokens, u.cache_read_tokens) == (20, 10, 11)
    bare = read_usage({"input_tokens": 5, "output_tokens": 7, "cache_creation_input_tokens": 30}).usage
    assert bare is not None
    assert (bare.cache_write_5m_tokens, bare.cache_write_1h_tokens) == (30, 0)


def test_unknown_model_is_refused_and_override_prices_it():
    with pytest.raises(UnknownModel, match="AGENTCTL_PRICE_OVERRIDES"):
        price_for("claude-imaginary-9", DAY)
    price = price_for("claude-imaginary-9", DAY, {"claude-imaginary-9": {"input": "1", "output": "5"}})
    assert (price.base.cache_write_5m, price.base.cache_write_1h, price.base.cache_read) == (
        Decimal("1.25"),
        Decimal("2"),
        Decimal("0.1"),
    )


def test_worst_case_bounds_any_actual_cost():
    price = price_for("claude-sonnet-5-5", DAY)
    bound = worst_case(price, prompt_tokens_upper=10_000, max_tokens=4_000)
    for usage in (
        TokenUsage(input_tokens=10_000, output_tokens=4_000),
        TokenUsage(cache_write_1h_tokens=10_000, output_tokens=4_000),
        TokenUsage(cache_write_5m_tokens=5_000, cache_read_tokens=5_000, output_tokens=4_000),
    ):
        assert cost(price, usage) <= bound


def test_ledger_rounds_up():
    assert to_ledger(Decimal("0.00000001")) == Decimal("0.0001")
    assert to_ledger(Decimal("0.1")) == Decimal("0.1000")


def test_table_rows_are_unique_per_model_and_date():
    keys = [(r.model, r.effective_from) for r in PRICE_TABLE]
    assert len(keys) == len(set(keys))


def test_first_call_worst_case_for_the_tick(settings):
    from pydantic import SecretStr

    from agentctl.agent import AgentMisconfigured, first_call_worst_case

    assert first_call_worst_case(settings, "design") == 0  # baseline
    claude = settings.model_copy(update={"anthropic_api_key": SecretStr("sk-x"), "max_tokens": 8192})
    # 48,000 prompt tokens at the 1-hour cache-write rate ($4) + 8,192 output tokens at $10, at the
    # dearest geography (US-only inference, 1.1x): a workspace default may choose it for us.
    assert first_call_worst_case(claude, "design", DAY) == Decimal("0.3014")  # 0.3013120 rounded up to the ledger step
    with pytest.raises(AgentMisconfigured):
        first_call_worst_case(claude.model_copy(update={"assess_model": "nope"}), "assessment", DAY)
