"""Weight initialisers. One meaning for every backend (see docs/semantics.md#init).

fan_in/fan_out follow PyTorch's definition: for a dense kernel (out, in) fan_in = in;
for a conv kernel (out, in, kh, kw) fan_in = in * kh * kw. Normal variants are plain
(untruncated) normals.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from specc.diagnostics import SpecError
from specc.ir.base import Node


class GlorotUniform(Node):
    """U(-a, a) with a = sqrt(6 / (fan_in + fan_out)). The default for every kernel."""

    kind: Literal["glorot_uniform"] = "glorot_uniform"
    aliases = ("xavier_uniform",)


class GlorotNormal(Node):
    """N(0, std) with std = sqrt(2 / (fan_in + fan_out))."""

    kind: Literal["glorot_normal"] = "glorot_normal"
    aliases = ("xavier_normal",)


class HeUniform(Node):
    """U(-a, a) with a = sqrt(6 / fan_in): for ReLU networks."""

    kind: Literal["he_uniform"] = "he_uniform"
    aliases = ("kaiming_uniform",)


class HeNormal(Node):
    """N(0, std) with std = sqrt(2 / fan_in): for ReLU networks."""

    kind: Literal["he_normal"] = "he_normal"
    aliases = ("kaiming_normal",)


class UniformInit(Node):
    """U(low, high): `init=uniform(-0.05, 0.05)`."""

    kind: Literal["uniform"] = "uniform"
    positional = ("low", "high")

    low: float = -0.05
    """Smallest value."""
    high: float = 0.05
    """Largest value."""

    @model_validator(mode="after")
    def _bounds(self) -> UniformInit:
        if self.low >= self.high:
            raise SpecError(
                "E301",
                f"uniform(low, high) needs low < high, found {self.low:g} and {self.high:g}",
                self.span,
            )
        return self


class NormalInit(Node):
    """N(mean, std): `init=normal(0.02)`."""

    kind: Literal["normal"] = "normal"
    positional = ("std", "mean")

    std: float = Field(default=0.05, gt=0)
    """Standard deviation."""
    mean: float = 0.0
    """Mean."""


class Zeros(Node):
    """All zeros. The default for every bias."""

    kind: Literal["zeros"] = "zeros"
    aliases = ("zero",)


class Ones(Node):
    """All ones."""

    kind: Literal["ones"] = "ones"
    aliases = ("one",)


Init = Annotated[
    Union[GlorotUniform, GlorotNormal, HeUniform, HeNormal, UniformInit, NormalInit, Zeros, Ones],
    Field(discriminator="kind"),
]
