"""What a billed reply is charged: its usage when that can be believed, else its reservation.

Provider-neutral: the loop (agent/loop.py) hands over the reply's usage reading, the
reservation and the request's own bounds; the answer is an amount, its basis
('usage' or 'reservation') and the flags that explain it. Never less than the
evidence: a reply whose usage is odd is charged the larger of its reservation and
what its usage would cost at the dearest rate.
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
) -> Charge:
    """The charge of one billed reply (see module doc)."""
    flags = list(reading.flags)
    usage = reading.usage
    if usage is None:
        return Charge(pricing.to_ledger(reserved), "reservation", tuple(flags))
    if usage.output_tokens > max_tokens:
        flags.append("output_above_max_tokens")
    if usage.prompt_tokens > prompt_upper:
        flags.append("prompt_above_request_size")
    multiplier = pricing.DEAREST_MULTIPLIER if flags else reading.multiplier
    evidence = pricing.to_ledger(pricing.cost(price, usage, multiplier))
    if not flags:
        return Charge(evidence, "usage", (), usage)
    if evidence > reserved:
        return Charge(evidence, "usage", tuple(flags), usage)
    return Charge(pricing.to_ledger(reserved), "reservation", tuple(flags), usage)
