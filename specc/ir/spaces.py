"""Hyperparameter search spaces, written in place of any number: `lr=loguniform(1e-4, 1e-2)`.

`specc check` validates them; `specc sweep` samples them; `specc run` refuses a spec that
still has one (there is nothing concrete to train).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Union

from pydantic import Field, model_validator

from specc.diagnostics import SpecError
from specc.ir.base import Node


class LogUniform(Node):
    """A number drawn log-uniformly from [low, high]: the usual choice for learning rates."""

    kind: Literal["loguniform"] = "loguniform"
    positional = ("low", "high")
    aliases = ("log_uniform",)

    low: float
    """Smallest value; must be > 0."""
    high: float
    """Largest value; must be > low."""

    @model_validator(mode="after")
    def _bounds(self) -> LogUniform:
        if self.low <= 0:
            raise SpecError(
                "E304",
                f"a log scale needs low > 0, found low={self.low:g}",
                self.where("low"),
                help="use uniform(...) for ranges that include 0 or negatives",
            )
        _ordered(self, self.low, self.high)
        return self


class Uniform(Node):
    """A number drawn uniformly from [low, high]."""

    kind: Literal["uniform"] = "uniform"
    positional = ("low", "high")

    low: float
    """Smallest value."""
    high: float
    """Largest value; must be > low."""

    @model_validator(mode="after")
    def _bounds(self) -> Uniform:
        _ordered(self, self.low, self.high)
        return self


class IntRange(Node):
    """A whole number drawn from low..high inclusive (optionally on a log scale)."""

    kind: Literal["int"] = "int"
    positional = ("low", "high")
    aliases = ("randint", "int_range")

    low: int
    """Smallest value."""
    high: int
    """Largest value; must be > low."""
    step: int = Field(default=1, ge=1)
    """Spacing between candidate values."""
    log: bool = False
    """Sample on a log scale (low must be >= 1)."""

    @model_validator(mode="after")
    def _bounds(self) -> IntRange:
        _ordered(self, self.low, self.high)
        if self.log and self.low < 1:
            raise SpecError(
                "E304",
                f"a log scale needs low >= 1, found low={self.low}",
                self.where("low"),
            )
        return self


class Choice(Node):
    """One of a fixed list of values: `units=choice(128, 256, 512)`."""

    kind: Literal["choice"] = "choice"
    variadic = "options"

    options: list[Any] = Field(min_length=1)
    """The candidates, tried as written."""

    @model_validator(mode="after")
    def _distinct(self) -> Choice:
        if any(isinstance(o, float) and not math.isfinite(o) for o in self.options):
            raise SpecError("E301", "choice(...) options must be finite numbers", self.span)
        if len(set(map(repr, self.options))) != len(self.options):
            raise SpecError("E304", "choice(...) lists the same value twice", self.span)
        return self


def _ordered(node: Node, low: float, high: float) -> None:
    if low >= high:
        raise SpecError(
            "E304",
            f"a search range needs low < high, found low={_show(low)} and high={_show(high)}",
            node.span,
            help="swap the bounds" if low > high else "use a plain number for a fixed value",
        )


def _show(value: float) -> str:
    """A bound as the message shows it; a whole number of any size never overflows."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value) if abs(value) < 10**15 else f"a {len(str(abs(value)))}-digit number"
    return f"{value:g}"


Space = Annotated[Union[LogUniform, Uniform, IntRange, Choice], Field(discriminator="kind")]
SPACE_TYPES: tuple[type[Node], ...] = (LogUniform, Uniform, IntRange, Choice)


def _num(base: type, **limits: Any) -> Any:
    return Union[Annotated[base, Field(**limits)], Space]  # type: ignore[valid-type]


# Numeric argument types. Each accepts a plain number within limits, or a search space.
PositiveFloat = _num(float, gt=0)
NonNegFloat = _num(float, ge=0)
UnitFloat = _num(float, ge=0, le=1)  # a fraction in [0, 1]
OpenUnitFloat = _num(float, ge=0, lt=1)  # dropout rate, momentum-like
AnyFloat = _num(float)
PositiveInt = _num(int, ge=1, le=1_000_000)
# Optimizer settings reach float32 tensors, also as products (`1 - lr * weight_decay`);
# torch refuses a scalar past float32's range ("cannot be converted to type float without
# overflow"), so rates stop at a million and clipping thresholds at 1e30.
MAX_RATE = 1e6
MAX_CLIP = 1e30
Rate = _num(float, gt=0, le=MAX_RATE)
NonNegRate = _num(float, ge=0, le=MAX_RATE)
ClipThreshold = _num(float, gt=0, le=MAX_CLIP)
NonNegInt = _num(int, ge=0, le=1_000_000)


def is_space(value: object) -> bool:
    return isinstance(value, SPACE_TYPES)
