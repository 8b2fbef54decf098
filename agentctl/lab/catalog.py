"""The curated TA-Lib indicator catalog the agent may use as features.

Pure data, no TA-Lib import: names, parameter ranges and outputs are checked
against TA-Lib's own abstract metadata by tests/lab/test_catalog.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Scale(StrEnum):
    """How an indicator output is made comparable across price levels."""

    NONE = "none"  # already an oscillator / ratio
    LEVEL = "level"  # a price level: value / close - 1
    DIFF = "diff"  # a price difference: value / close


# Param, Indicator and the datasets' records (lab/data.py) are field lists alike in shape only:
# each declares its own facts once.
@dataclass(frozen=True)
class Param:
    name: str
    default: float
    low: float
    high: float
    integer: bool = True


@dataclass(frozen=True)
class Indicator:
    name: str
    group: str
    description: str
    inputs: tuple[str, ...]
    params: tuple[Param, ...]
    outputs: tuple[str, ...]
    scale: Scale = Scale.NONE


def _period(default: int, low: int = 2, high: int = 200, name: str = "timeperiod") -> Param:
    return Param(name, default, low, high)


# TA-Lib moving-average types (talib.MA_Type): 0 SMA 1 EMA 2 WMA 3 DEMA 4 TEMA 5 TRIMA 6 KAMA 7 MAMA 8 T3.
# MAMA (7) is excluded: TA-Lib ignores the period for it, so configs that differ would compute the same.
_MATYPE_HIGH = 6


def _matype(name: str = "matype", default: int = 0) -> Param:
    return Param(name, default, 0, _MATYPE_HIGH)


_C = ("close",)
_HL = ("high", "low")
_HLC = ("high", "low", "close")
_HLCV = ("high", "low", "close", "volume")

# One row per indicator, all of one shape: a table to read down, not logic to share.
INDICATORS: tuple[Indicator, ...] = (
    # Overlap studies: price levels, expressed relative to close.
    Indicator("SMA", "overlap", "simple moving average", _C, (_period(30),), ("real",), Scale.LEVEL),
    Indicator("EMA", "overlap", "exponential moving average", _C, (_period(30),), ("real",), Scale.LEVEL),
    Indicator("WMA", "overlap", "weighted moving average", _C, (_period(30),), ("real",), Scale.LEVEL),
    Indicator("DEMA", "overlap", "double exponential moving average", _C, (_period(30),), ("real",), Scale.LEVEL),
    Indicator("TEMA", "overlap", "triple exponential moving average", _C, (_period(30),), ("real",), Scale.LEVEL),
    Indicator("KAMA", "overlap", "Kaufman adaptive moving average", _C, (_period(30),), ("real",), Scale.LEVEL),
    Indicator(
        "T3",
        "overlap",
        "triple smoothed T3 moving average",
        _C,
        (_period(5), Param("vfactor", 0.7, 0.0, 1.0, integer=False)),
        ("real",),
        Scale.LEVEL,
    ),
    Indicator(
        "BBANDS",
        "overlap",
        "Bollinger bands",
        _C,
        (
            _period(20),
            Param("nbdevup", 2.0, 0.1, 5.0, integer=False),
            Param("nbdevdn", 2.0, 0.1, 5.0, integer=False),
            _matype(),
        ),
        ("upperband", "middleband", "lowerband"),
        Scale.LEVEL,
    ),
    Indicator(
        "SAR",
        "overlap",
        "parabolic SAR",
        _HL,
        (Param("acceleration", 0.02, 0.001, 0.5, integer=False), Param("maximum", 0.2, 0.01, 1.0, integer=False)),
        ("real",),
        Scale.LEVEL,
    ),
    Indicator(
        "MIDPRICE", "overlap", "midpoint of high/low over the period", _HL, (_period(14),), ("real",), Scale.LEVEL
    ),
    Indicator(
        "TSF", "statistic", "time series forecast (linear regression)", _C, (_period(14),), ("real",), Scale.LEVEL
    ),
    # Momentum: oscillators and ratios, used as they are.
    Indicator("RSI", "momentum", "relative strength index (0-100)", _C, (_period(14),), ("real",)),
    Indicator(
        "MACD",
        "momentum",
        "moving average convergence/divergence",
        _C,
        (_period(12, name="fastperiod"), _period(26, name="slowperiod"), _period(9, 1, 200, "signalperiod")),
        ("macd", "macdsignal", "macdhist"),
        Scale.DIFF,
    ),
    Indicator(
        "STOCH",
        "momentum",
        "slow stochastic (0-100)",
        _HLC,
        (
            _period(5, 1, 200, "fastk_period"),
            _period(3, 1, 200, "slowk_period"),
            _matype("slowk_matype"),
            _period(3, 1, 200, "slowd_period"),
            _matype("slowd_matype"),
        ),
        ("slowk", "slowd"),
    ),
    Indicator(
        "STOCHF",
        "momentum",
        "fast stochastic (0-100)",
        _HLC,
        (_period(5, 1, 200, "fastk_period"), _period(3, 1, 200, "fastd_period"), _matype("fastd_matype")),
        ("fastk", "fastd"),
    ),
    Indicator(
        "STOCHRSI",
        "momentum",
        "stochastic of RSI (0-100)",
        _C,
        (_period(14), _period(5, 1, 200, "fastk_period"), _period(3, 1, 200, "fastd_period"), _matype("fastd_matype")),
        ("fastk", "fastd"),
    ),
    Indicator("ADX", "momentum", "average directional index (trend strength, 0-100)", _HLC, (_period(14),), ("real",)),
    Indicator("ADXR", "momentum", "ADX rating", _HLC, (_period(14),), ("real",)),
    Indicator("DX", "momentum", "directional movement index", _HLC, (_period(14),), ("real",)),
    Indicator("PLUS_DI", "momentum", "plus directional indicator", _HLC, (_period(14),), ("real",)),
    Indicator("MINUS_DI", "momentum", "minus directional indicator", _HLC, (_period(14),), ("real",)),
    Indicator(
        "APO",
        "momentum",
        "absolute price oscillator",
        _C,
        (_period(12, name="fastperiod"), _period(26, name="slowperiod"), _matype(default=1)),
        ("real",),
        Scale.DIFF,
    ),
    Indicator(
        "PPO",
        "momentum",
        "percentage price oscillator",
        _C,
        (_period(12, name="fastperiod"), _period(26, name="slowperiod"), _matype(default=1)),
        ("real",),
    ),
    Indicator("CCI", "momentum", "commodity channel index", _HLC, (_period(14),), ("real",)),
    Indicator("CMO", "momentum", "Chande momentum oscillator (-100..100)", _C, (_period(14),), ("real",)),
    Indicator("MOM", "momentum", "momentum: close - close n bars ago", _C, (_period(10, 1),), ("real",), Scale.DIFF),
    Indicator("ROC", "momentum", "rate of change in percent", _C, (_period(10, 1),), ("real",)),
    Indicator("ROCP", "momentum", "rate of change as a fraction", _C, (_period(10, 1),), ("real",)),
    Indicator("WILLR", "momentum", "Williams %R (-100..0)", _HLC, (_period(14),), ("real",)),
    Indicator("MFI", "momentum", "money flow index (0-100, needs volume)", _HLCV, (_period(14),), ("real",)),
    Indicator(
        "ULTOSC",
        "momentum",
        "ultimate oscillator (0-100)",
        _HLC,
        (_period(7, 1, 200, "timeperiod1"), _period(14, 1, 200, "timeperiod2"), _period(28, 1, 200, "timeperiod3")),
        ("real",),
    ),
    Indicator("AROON", "momentum", "Aroon up/down (0-100)", _HL, (_period(14),), ("aroondown", "aroonup")),
    Indicator("AROONOSC", "momentum", "Aroon oscillator (-100..100)", _HL, (_period(14),), ("real",)),
    Indicator("BOP", "momentum", "balance of power", ("open", "high", "low", "close"), (), ("real",)),
    Indicator("TRIX", "momentum", "1-day rate of change of a triple smooth EMA", _C, (_period(30, 1),), ("real",)),
    # Volatility.
    Indicator("ATR", "volatility", "average true range", _HLC, (_period(14, 1),), ("real",), Scale.DIFF),
    Indicator("NATR", "volatility", "normalized average true range (percent)", _HLC, (_period(14, 1),), ("real",)),
    Indicator("TRANGE", "volatility", "true range", _HLC, (), ("real",), Scale.DIFF),
    Indicator(
        "STDDEV",
        "statistic",
        "standard deviation of close",
        _C,
        (_period(5), Param("nbdev", 1.0, 0.1, 5.0, integer=False)),
        ("real",),
        Scale.DIFF,
    ),
    Indicator("LINEARREG_SLOPE", "statistic", "linear regression slope", _C, (_period(14),), ("real",), Scale.DIFF),
    # Cycle.
    Indicator("HT_DCPERIOD", "cycle", "Hilbert transform dominant cycle period", _C, (), ("real",)),
    Indicator("HT_TRENDMODE", "cycle", "Hilbert transform trend (1) vs cycle (0) mode", _C, (), ("integer",)),
)

CATALOG: dict[str, Indicator] = {i.name: i for i in INDICATORS}


def catalog_text() -> str:
    """A compact, prompt-ready listing: one line per indicator."""
    lines = [
        "TA-Lib indicators (function(param=default [min..max]) -> outputs; "
        "'rel' outputs are divided by close, levels as value/close-1; matype 0 SMA 1 EMA 2 WMA 3 DEMA 4 TEMA 5 TRIMA 6 KAMA):"
    ]
    for ind in INDICATORS:
        params = ", ".join(f"{p.name}={_num(p.default)} [{_num(p.low)}..{_num(p.high)}]" for p in ind.params)
        rel = " rel" if ind.scale is not Scale.NONE else ""
        lines.append(f"{ind.name}({params}) -> {','.join(ind.outputs)}{rel} | {ind.description}")
    return "\n".join(lines)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))
