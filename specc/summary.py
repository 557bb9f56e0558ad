"""What `specc summary` reports: per-layer shapes, parameters, FLOPs and activation memory.

Pure data, no printing: the CLI (specc/cli/report.py) renders it as a table or JSON and
tests compare its numbers with what PyTorch counts. Everything is derived from the shape
pass (`specc.shapes.infer`), so the layer names are the ones weights are saved under.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from specc.shapes import LayerInfo, ModelShapes

Shape = tuple[int, ...]


@dataclass(frozen=True)
class LayerRow:
    """One unrolled layer. Parameters are split so fine-tuning specs show what trains."""

    name: str
    kind: str
    input: Shape
    output: Shape
    trainable_params: int
    frozen_params: int
    flops: int
    activation_bytes: int
    reads: tuple[str, ...] = ()
    """The values it reads (a graph model's merges read several)."""

    @property
    def params(self) -> int:
        return self.trainable_params + self.frozen_params


@dataclass(frozen=True)
class Totals:
    params: int
    trainable_params: int
    frozen_params: int
    flops: int
    activation_bytes: int

    @property
    def param_bytes(self) -> int:
        """fp32 weights: 4 bytes each."""
        return 4 * self.params


@dataclass(frozen=True)
class ModelSummary:
    name: str
    input: Shape
    output: Shape
    layers: tuple[LayerRow, ...]
    totals: Totals
    inputs: tuple[tuple[str, Shape], ...] = ()
    graph: bool = False
    """Branches or merges: the table shows what each layer reads."""
    outputs: tuple[tuple[str, Shape], ...] = ()
    """A model with `output` blocks: each output's name and shape, in order."""

    def to_json(self) -> dict[str, object]:
        """The `specc summary --json` shape of one model; shapes are lists of ints."""
        return {
            "name": self.name,
            "input": list(self.input),
            "inputs": {name: list(shape) for name, shape in self.inputs},
            "output": list(self.output),
            "outputs": {name: list(shape) for name, shape in self.outputs},
            "layers": [
                {
                    **asdict(row),
                    "input": list(row.input),
                    "output": list(row.output),
                    "params": row.params,
                    "reads": list(row.reads),
                }
                for row in self.layers
            ],
            "totals": {**asdict(self.totals), "param_bytes": self.totals.param_bytes},
        }


def _row(info: LayerInfo, outputs: dict[str, str]) -> LayerRow:
    kind = info.layer.kind_name()
    if info.block is not None:  # the sum closing a residual block: `add (residual)`
        kind = f"{kind} ({info.block.kind_name()})"
    if info.name in outputs:  # the layer computing a named output: `dense (output kind)`
        kind = f"{kind} (output {outputs[info.name]})"
    return LayerRow(
        name=info.name,
        kind=kind,
        input=info.input,
        output=info.output,
        trainable_params=info.params if info.trainable else 0,
        frozen_params=0 if info.trainable else info.params,
        flops=info.flops,
        activation_bytes=info.activation_bytes,
        reads=info.sources,
    )


def summarize(shapes: ModelShapes) -> ModelSummary:
    """The summary of one model whose shapes were inferred without errors."""
    computes = {step: name for name, step in shapes.outputs}
    rows = tuple(_row(info, computes) for info in shapes.layers)
    totals = Totals(
        params=sum(r.params for r in rows),
        trainable_params=sum(r.trainable_params for r in rows),
        frozen_params=sum(r.frozen_params for r in rows),
        flops=sum(r.flops for r in rows),
        activation_bytes=sum(r.activation_bytes for r in rows),
    )
    return ModelSummary(
        name=shapes.model.name,
        input=shapes.input,
        output=shapes.output,
        layers=rows,
        totals=totals,
        inputs=shapes.inputs,
        graph=not shapes.is_chain,
        outputs=tuple((name, shapes.output_info(name).output) for name, _ in shapes.outputs),
    )


def summarize_all(shapes: dict[str, ModelShapes], model: str | None = None) -> list[ModelSummary]:
    """Summaries in file order (dicts keep insertion order), or just `model`'s.

    A name that is not a key gives an empty list; the caller reports it (it knows the file).
    """
    if model is not None:
        return [summarize(shapes[model])] if model in shapes else []
    return [summarize(s) for s in shapes.values()]
