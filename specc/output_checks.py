"""Checks of a model's named outputs: where output blocks may stand (E210, raised while
specc/flow.py walks the model) and how the `train` block trains them (E211).

A model with `output` blocks trains each output with its own loss: `output NAME { loss
...; weight W; metrics ... }` in `train` (docs/semantics.md#outputs). Every output needs
one, every entry must name an output, and a plain `loss` cannot say which output it is
for. What each loss requires of its output's shape is E407 (specc/checks.py, per output).
"""

from __future__ import annotations

from specc.diagnostics import Diagnostic, Related, SpecError, did_you_mean
from specc.ir.data import NPZ, OneHot, Synthetic
from specc.ir.layers import Layer, Output
from specc.ir.spec import Model, Spec, flat_layers
from specc.lowering.head import final_activation
from specc.shapes import ModelShapes
from specc.span import Span


def check_outputs(spec: Spec, shapes: dict[str, ModelShapes], end: Span) -> list[Diagnostic]:
    train = spec.train
    model = spec.model_named(train.model if train else None)
    info = shapes.get(model.name) if model is not None else None
    if train is None or model is None or info is None:
        return []
    out = _duplicates(spec)
    names = [name for name, _ in info.outputs]
    if not names:
        for node in train.outputs:
            out.append(
                Diagnostic(
                    code="E211",
                    message=f"`output {node.name}` in `train`, but model `{model.name}` has "
                    "no `output` blocks",
                    span=node.where("name") or node.span or end,
                    help="a model with one output trains with `loss ...`; give the model "
                    f"`output {node.name} {{ ... }}` blocks to train several",
                )
            )
        return out
    out.extend(_targets(spec, model.name, names, end))
    if train.loss is not None:
        out.append(
            Diagnostic(
                code="E211",
                message=f"model `{model.name}` has several outputs ({_list(names)}), so a "
                "plain `loss` does not say which one it trains",
                span=train.loss.span or end,
                help=f"give each output its own: `output {names[0]} {{ loss "
                f"{train.loss.kind_name()} }}` in `train`",
            )
        )
    for node in train.outputs:
        if node.name not in names:
            guess = did_you_mean(node.name, names)
            out.append(
                Diagnostic(
                    code="E211",
                    message=f"model `{model.name}` has no output named `{node.name}`",
                    span=node.where("name") or node.span or end,
                    help=f"did you mean `{guess}`?" if guess else f"its outputs: {_list(names)}",
                    fix=guess,
                )
            )
    blocks = {layer.name: layer for layer in model.layers if isinstance(layer, Output)}
    for name in names:
        entry = train.output_named(name)
        if entry is not None and entry.loss is not None:
            continue
        block = blocks.get(name)
        where = (block.where("name") if block else None) or end
        loss = _suggested_loss(info.for_output(name))
        out.append(
            Diagnostic(
                code="E211",
                message=f"output `{name}` has no loss",
                span=where,
                help=f"add `output {name} {{ loss {loss} }}` to the `train` block"
                if entry is None
                else f"add `loss {loss}` to `output {name}` in the `train` block",
                related=(Related(span=entry.span, message="its training is here"),)
                if entry is not None and entry.span
                else (),
            )
        )
    return out


def _targets(spec: Spec, model: str, names: list[str], end: Span) -> list[Diagnostic]:
    """E406: only an .npz (`y_<output>` arrays) or `synthetic` (targets derived from one
    latent class) gives each output its targets; `one_hot` cannot say which it encodes."""
    data = spec.data
    if data is None:
        return []
    out = []
    if not isinstance(data, NPZ | Synthetic):
        out.append(
            Diagnostic(
                code="E406",
                message=f"`data {data.kind_name()}` gives one target per example, but model "
                f"`{model}` has {len(names)} outputs ({_list(names)})",
                span=data.where() or end,
                help="give each output its targets in an .npz (arrays `y_<output>`), or use "
                "`data synthetic` (docs/data.md#several-outputs)",
            )
        )
    for transform in data.transforms:
        if isinstance(transform, OneHot):
            out.append(
                Diagnostic(
                    code="E406",
                    message="`one_hot` does not say which output's targets it encodes",
                    span=transform.span or end,
                    help="remove it: each output's loss decides what its targets are",
                )
            )
    return out


def check_output_places(model: Model) -> None:
    """E210 for an `output` block inside another block: outputs are the model's own
    (raised by specc/flow.py while it walks the model)."""
    top = {id(layer) for layer in model.layers}
    for layer in flat_layers(list(model.layers), blocks=True):
        if isinstance(layer, Output) and id(layer) not in top:
            raise SpecError(
                "E210",
                "an `output` block belongs at the model's top level",
                layer.span,
                help="move it out of the block; use `branch NAME { ... }` inside blocks",
            )


def after_outputs(layer: Layer, first: Output) -> SpecError:
    """E210 for a statement after the model's first `output` block."""
    where = first.where("name") or first.span
    return SpecError(
        "E210",
        f"`{layer.kind_name()}` follows the model's `output` blocks, so no output reads it",
        layer.span,
        help="a model with `output` blocks ends with them: move this line above the first "
        "`output`, or inside an output block",
        related=[Related(span=where, message="the first output block")] if where else [],
    )


def _suggested_loss(view: ModelShapes) -> str:
    """A loss that fits the output's final activation and width."""
    kind = final_activation(view)
    return {"sigmoid": "binary_crossentropy", "softmax": "sparse_categorical_crossentropy"}.get(
        kind or "", "mse"
    )


def _duplicates(spec: Spec) -> list[Diagnostic]:
    """E203: one output trained twice."""
    if spec.train is None:
        return []
    seen: dict[str, Span | None] = {}
    out = []
    for node in spec.train.outputs:
        if node.name in seen:
            first = seen[node.name]
            out.append(
                Diagnostic(
                    code="E203",
                    message=f"`output {node.name}` is given twice in `train`",
                    span=node.where("name") or node.span or Span.point("", 0),
                    help="keep one, with its loss, weight and metrics together",
                    related=(Related(span=first, message="first given here"),) if first else (),
                )
            )
        seen.setdefault(node.name, node.where("name"))
    return out


def _list(names: list[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)
