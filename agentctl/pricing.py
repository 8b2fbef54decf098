"""What a model call costs: an effective-dated price table and exact Decimal arithmetic.

Prices are USD per million tokens, copied from Anthropic's pricing documentation
(platform.claude.com/docs/en/about-claude/pricing and each model's overview page),
checked on PRICE_TABLE_CHECKED. A new price is a new row with its own
`effective_from`; old rows stay so past calls keep the price they were billed at.
A model missing from the table (and from the `price_overrides` setting) is refused
before any call is made: never priced at 0.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, Decimal, localcontext
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

PRICE_TABLE_CHECKED = date(2026, 11, 23)
MTOK = Decimal(1_000_000)
# The ledger (agent_actions.cost_usd, agent_budget.*_usd) is NUMERIC(10,4) in the seed
# schema. Each call's cost is rounded UP to this step once, so the ledger never
# under-counts and the day's sum of action costs equals budget_used_usd exactly.
LEDGER_STEP = Decimal("0.0001")


class UnknownModel(ValueError):
    """No price is known for a model: the call is refused (fail closed)."""


class Rates(BaseModel):
    """USD per million tokens for each kind of token."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    input: Decimal = Field(ge=0)
    output: Decimal = Field(ge=0)
    cache_write_5m: Decimal = Field(ge=0)
    cache_write_1h: Decimal = Field(ge=0)
    cache_read: Decimal = Field(ge=0)

    @property
    def max_prompt_rate(self) -> Decimal:
        """The dearest a prompt token can be (written to the 1-hour cache, usually)."""
        return max(self.input, self.cache_write_5m, self.cache_write_1h, self.cache_read)


class ModelPrice(BaseModel):
    """A model's rates, with a dearer band for long prompts where the model has one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base: Rates
    # When a request's prompt (input + cache write + cache read tokens) exceeds
    # long_prompt_threshold, every token of that request, output included, is
    # billed at long_prompt rates.
    long_prompt_threshold: int | None = None
    long_prompt: Rates | None = None

    def rates_for(self, prompt_tokens: int) -> Rates:
        if (
            self.long_prompt is not None
            and self.long_prompt_threshold is not None
            and prompt_tokens > self.long_prompt_threshold
        ):
            return self.long_prompt
        return self.base


@dataclass(frozen=True)
class PriceRow:
    model: str
    effective_from: date
    price: ModelPrice


def _r(input: str, output: str, w5: str, w1h: str, read: str) -> Rates:
    return Rates(
        input=Decimal(input),
        output=Decimal(output),
        cache_write_5m=Decimal(w5),
        cache_write_1h=Decimal(w1h),
        cache_read=Decimal(read),
    )


def _flat(input: str, output: str, w5: str, w1h: str, read: str) -> ModelPrice:
    return ModelPrice(base=_r(input, output, w5, w1h, read))


_SINCE_LISTED = date(2000, 1, 1)  # a model's first row applies to every earlier day too

# One row per model, all of one shape: a table to read down, not logic to share.
PRICE_TABLE: tuple[PriceRow, ...] = (
    # Current models (2026-11).
    PriceRow("claude-fable-5-1", _SINCE_LISTED, _flat("10", "50", "12.50", "20", "0.25")),
    PriceRow("claude-opus-5-5", _SINCE_LISTED, _flat("4", "20", "5", "8", "0.20")),
    # Official model page: cache read $0.20. A reported cut to $0.10 (2026-10-07) is not on
    # the official page; pricing a hit too low would let real spend pass the cap, so it waits.
    PriceRow("claude-sonnet-5-5", _SINCE_LISTED, _flat("2", "10", "2.50", "4", "0.20")),
    PriceRow(
        "claude-haiku-5-5",
        _SINCE_LISTED,
        ModelPrice(
            base=_r("0.10", "0.50", "0.125", "0.20", "0.01"),
            long_prompt_threshold=100_000,
            long_prompt=_r("0.50", "2.50", "0.625", "1.00", "0.05"),
        ),
    ),
    # Legacy models still served.
    PriceRow("claude-fable-5", _SINCE_LISTED, _flat("10", "50", "12.50", "20", "1")),
    PriceRow("claude-opus-5", _SINCE_LISTED, _flat("5", "25", "6.25", "10", "0.50")),
    PriceRow("claude-sonnet-5", _SINCE_LISTED, _flat("2", "10", "2.50", "4", "0.20")),
    PriceRow("claude-opus-4-8", _SINCE_LISTED, _flat("5", "25", "6.25", "10", "0.50")),
    PriceRow("claude-opus-4-7", _SINCE_LISTED, _flat("5", "25", "6.25", "10", "0.50")),
    PriceRow("claude-opus-4-6", _SINCE_LISTED, _flat("5", "25", "6.25", "10", "0.50")),
    PriceRow("claude-opus-4-5", _SINCE_LISTED, _flat("5", "25", "6.25", "10", "0.50")),
    PriceRow("claude-sonnet-4-6", _SINCE_LISTED, _flat("3", "15", "3.75", "6", "0.30")),
    PriceRow(
        "claude-sonnet-4-5",
        _SINCE_LISTED,
        ModelPrice(
            base=_r("3", "15", "3.75", "6", "0.30"),
            long_prompt_threshold=200_000,
            long_prompt=_r("6", "22.50", "7.50", "12", "0.60"),
        ),
    ),
    PriceRow("claude-haiku-4-5", _SINCE_LISTED, _flat("1", "5", "1.25", "2", "0.10")),
)

# Dated snapshot ids of older models name the same price as their alias.
ALIASES = {"claude-haiku-4-5-20251001": "claude-haiku-4-5", "claude-sonnet-4-5-20250929": "claude-sonnet-4-5"}


def price_for(model: str, day: date, overrides: Mapping[str, Any] | None = None) -> ModelPrice:
    """The price in force for `model` on `day`; an override (settings.price_overrides) wins."""
    if overrides and model in overrides:
        raw = overrides[model]
        return raw if isinstance(raw, ModelPrice) else _override(raw)
    name = ALIASES.get(model, model)
    rows = [r for r in PRICE_TABLE if r.model == name and r.effective_from <= day]
    if not rows and _DATED.search(name):
        # A reply names the dated snapshot of the alias it was asked for: the alias's price.
        undated = _DATED.sub("", name)
        rows = [r for r in PRICE_TABLE if r.model == undated and r.effective_from <= day]
    if not rows:
        raise UnknownModel(
            f"no price known for model {model!r}: pick a model from agentctl.pricing.PRICE_TABLE "
            f'or set AGENTCTL_PRICE_OVERRIDES=\'{{"{model}": {{"input": ..., "output": ...}}}}\''
        )
    return max(rows, key=lambda r: r.effective_from).price


_DATED = re.compile(r"-\d{8}$")


def _override(raw: Mapping[str, Any]) -> ModelPrice:
    # A flat dict of rates is the common case; cache rates default to the usual
    # multiples of input (5m write 1.25x, 1h write 2x, read 0.1x).
    if "base" in raw:
        return ModelPrice.model_validate(raw)
    inp = Decimal(str(raw["input"]))
    return ModelPrice(
        base=Rates(
            input=inp,
            output=Decimal(str(raw["output"])),
            cache_write_5m=Decimal(str(raw.get("cache_write_5m", inp * Decimal("1.25")))),
            cache_write_1h=Decimal(str(raw.get("cache_write_1h", inp * 2))),
            cache_read=Decimal(str(raw.get("cache_read", inp * Decimal("0.1")))),
        )
    )


class TokenUsage(BaseModel):
    """Billed tokens of one response, as the provider reports them."""

    model_config = ConfigDict(frozen=True)

    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    cache_read_tokens: int = 0

    @property
    def cache_write_tokens(self) -> int:
        return self.cache_write_5m_tokens + self.cache_write_1h_tokens

    @property
    def prompt_tokens(self) -> int:
        return self.input_tokens + self.cache_write_tokens + self.cache_read_tokens


def cost(price: ModelPrice, usage: TokenUsage, multiplier: Decimal = Decimal(1)) -> Decimal:
    """Exact USD cost of one response; `multiplier` is the reply's geography and tier (UsageReading)."""
    r = price.rates_for(usage.prompt_tokens)
    micro = (
        usage.input_tokens * r.input
        + usage.output_tokens * r.output
        + usage.cache_write_5m_tokens * r.cache_write_5m
        + usage.cache_write_1h_tokens * r.cache_write_1h
        + usage.cache_read_tokens * r.cache_read
    )
    return micro * multiplier / MTOK


def worst_case(price: ModelPrice, prompt_tokens_upper: int, max_tokens: int) -> Decimal:
    """Upper bound of a call's cost: every prompt token at its dearest rate, max_tokens of output."""
    r = price.rates_for(prompt_tokens_upper)
    # At the dearest geography: a reply served in the US costs 1.1x, and the request cannot choose.
    return (prompt_tokens_upper * r.max_prompt_rate + max_tokens * r.output) * DEAREST_MULTIPLIER / MTOK


def to_ledger(amount: Decimal) -> Decimal:
    """Round a cost up to the ledger's step (NUMERIC(10,4)); exact for any amount (no precision trap)."""
    with localcontext() as ctx:
        ctx.prec = max(28, amount.adjusted() + 10)
        return amount.quantize(LEDGER_STEP, rounding=ROUND_CEILING)


# ---- what a reply's usage block says, believed only when it makes sense ------------------

# Price multipliers of the usage fields that change a reply's price (Anthropic's pricing and
# data-residency pages): inference in the US only costs 1.1x every token; global (or a model
# without the choice) costs the list price. messages.create is never served by the batch tier,
# and the priority tier is billed under its own commitment: both are charged at the list
# price, which never under-counts the batch discount.
INFERENCE_GEO_MULTIPLIER = {"global": Decimal(1), "not_available": Decimal(1), "us": Decimal("1.1")}
SERVICE_TIER_MULTIPLIER = {"standard": Decimal(1), "priority": Decimal(1), "batch": Decimal(1)}
DEAREST_MULTIPLIER = max(INFERENCE_GEO_MULTIPLIER.values()) * max(SERVICE_TIER_MULTIPLIER.values())

_COUNT_KEYS = ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
# No reply is billed for more tokens than this in any one count: a larger figure is not a
# count but a fault, and it must not reach an INT column or Decimal arithmetic (10^30 tokens
# overflows the context's precision). The reply is then charged at its reservation.
MAX_TOKEN_COUNT = 100_000_000


@dataclass(frozen=True)
class UsageReading:
    """A reply's usage block as far as it can be believed.

    `usage` is None when the block is missing or unreadable (the call is then charged at its
    reservation); `flags` say what was wrong or unknown; `multiplier` prices the reply's
    geography and tier (the dearest when a value is not one we know, flagged).
    """

    usage: TokenUsage | None
    multiplier: Decimal = Decimal(1)
    flags: tuple[str, ...] = ()


def _count(u: Mapping[str, Any], key: str, flags: list[str]) -> int | None:
    """One token count: a non-negative integer, else a flag (0 when absent and optional)."""
    value = u.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        flags.append(f"usage_not_integer:{key}")
        return None
    if value < 0:
        flags.append(f"usage_negative:{key}")
        return None
    if value > MAX_TOKEN_COUNT:
        flags.append(f"usage_out_of_range:{key}")
        return None
    return value


def _multiplier(u: Mapping[str, Any], flags: list[str]) -> Decimal:
    m = Decimal(1)
    for key, table in (("inference_geo", INFERENCE_GEO_MULTIPLIER), ("service_tier", SERVICE_TIER_MULTIPLIER)):
        value = u.get(key)
        if value is None:
            continue
        if isinstance(value, str) and value in table:
            m *= table[value]
        else:
            flags.append(f"unknown_{key}:{str(value)[:40]}")
            m *= max(table.values())
    return m


def read_usage(raw: Any) -> UsageReading:
    """Read a usage block (a dict as the provider sent it); never raises."""
    if not isinstance(raw, Mapping):
        return UsageReading(None, flags=("usage_missing" if raw is None else "usage_malformed",))
    flags: list[str] = []
    if raw.get("input_tokens") is None or raw.get("output_tokens") is None:
        flags.append("usage_incomplete")
    counts = {key: _count(raw, key, flags) for key in _COUNT_KEYS}
    split = raw.get("cache_creation")
    w1h: int | None = 0
    w5: int | None = None
    if isinstance(split, Mapping):
        w1h = _count(split, "ephemeral_1h_input_tokens", flags)
        w5 = _count(split, "ephemeral_5m_input_tokens", flags) if "ephemeral_5m_input_tokens" in split else None
    elif split is not None:
        flags.append("usage_malformed:cache_creation")
    multiplier = _multiplier(raw, flags)
    if any(not f.startswith("unknown_") for f in flags) or None in counts.values() or w1h is None:
        return UsageReading(None, multiplier, tuple(flags))
    written = counts["cache_creation_input_tokens"] or 0
    # Without the TTL breakdown every cache write is the default 5-minute kind.
    if w5 is None:
        w5 = max(0, written - (w1h or 0))
    usage = TokenUsage(
        input_tokens=counts["input_tokens"] or 0,
        output_tokens=counts["output_tokens"] or 0,
        cache_write_5m_tokens=w5,
        cache_write_1h_tokens=w1h or 0,
        cache_read_tokens=counts["cache_read_input_tokens"] or 0,
    )
    return UsageReading(usage, multiplier, tuple(flags))
