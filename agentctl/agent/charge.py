"""What a billed reply is charged: its usage when that can be believed, else its reservation.

Provider-neutral: the loop (agent/loop.py) hands over the reply's usage reading, the
reservation and the request's own bounds; the answer is an amount, its basis
('usage' or 'reservation') and the flags that explain it. Never less than the
evidence: a reply whose usage is odd is charged the larger of its reservation and
what its usage would cost at the dearest rate, with each count cut to what the
request could physically produce (the raw figures stay in the row's flags).
A reply from another model than the one asked for is charged at the dearer price.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from agentctl import pricing

ChargeBasis = Literal["usage", "reservation", "none"]


@dataclass(frozen=True)
class Charge:
    amount: Decimal  # in ledger steps, never negative
    basis: ChargeBasis
    flags: tuple[str, ...] = ()
    usage: pricing.TokenUsage | None = None  # the counts recorded on the row (None: not believed)


def charge_for(
    price: pricing.ModelPrice,
    reading: pricing.UsageReading,
    *,
    reserved: Decimal,
    max_tokens: int,
    prompt_upper: int,
    served_price: pricing.ModelPrice | None = None,
) -> Charge:
    """The charge of one billed reply (see module doc); `served_price` is the price of a substituted model."""
    flags = list(reading.flags)
    usage = reading.usage
    if usage is None:
        return Charge(pricing.to_ledger(reserved), "reservation", tuple(flags))
    usage = _within_bounds(usage, max_tokens, prompt_upper, flags)
    multiplier = pricing.DEAREST_MULTIPLIER if flags else reading.multiplier
    evidence = pricing.to_ledger(pricing.cost(price, usage, multiplier))
    if served_price is not None:
        evidence = max(evidence, pricing.to_ledger(pricing.cost(served_price, usage, multiplier)))
    if not flags:
        return Charge(evidence, "usage", (), usage)
    if evidence > reserved:
        return Charge(evidence, "usage", tuple(flags), usage)
    return Charge(pricing.to_ledger(reserved), "reservation", tuple(flags), usage)


def _within_bounds(
    usage: pricing.TokenUsage, max_tokens: int, prompt_upper: int, flags: list[str]
) -> pricing.TokenUsage:
    """The usage with each count cut to what the request could produce; a cut is flagged with the raw figure."""
    out = usage.output_tokens
    if out > max_tokens:
        flags += ["output_above_max_tokens", f"raw:output_tokens={out}"]
        usage = usage.model_copy(update={"output_tokens": max_tokens})
    if usage.prompt_tokens > prompt_upper:
        flags += ["prompt_above_request_size", f"raw:prompt_tokens={usage.prompt_tokens}"]
        # Every prompt token counted as uncached input, up to the bound (the dearest rate applies).
        usage = usage.model_copy(
            update={
                "input_tokens": prompt_upper,
                "cache_write_5m_tokens": 0,
                "cache_write_1h_tokens": 0,
                "cache_read_tokens": 0,
            }
        )
    return usage
