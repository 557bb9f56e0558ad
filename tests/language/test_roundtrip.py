"""IR -> text -> IR: `unparse.to_text` writes back exactly what `analyze` reads.

The property test draws random specs whose every node comes from a strategy derived from
the IR classes' own annotations and constraints (`_for_annotation`), so a new layer, loss
or optimizer is exercised without touching this file. Only what no single node knows is
arranged by hand: each model's input matches the data, layers are appended while shapes
still fit, and one-hot targets agree with the loss. Specs the IR-level checks reject are
discarded, so every drawn spec is one `specc check` should accept.
"""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import pytest
from hypothesis import HealthCheck, assume, given, reject, settings
from hypothesis import strategies as st
from lark import Lark
from pydantic import ValidationError
from pydantic.fields import FieldInfo

from specc import resources
from specc.analysis import analyze
from specc.checks import check_spec
from specc.diagnostics import Severity
from specc.fmt import format_text
from specc.ir import strip_spans
from specc.ir.base import Node
from specc.ir.data import MNIST, Normalize, OneHot, Scale
from specc.ir.graph import MERGES, Branch, Output, Parallel, Residual
from specc.ir.layers import Dense, Flatten
from specc.ir.registry import list_item, members, user_fields
from specc.ir.spaces import SPACE_TYPES
from specc.ir.spec import InitFrom, Input, Model, Spec
from specc.ir.training import OutputTraining, Train
from specc.shapes import infer
from specc.unparse import UnparseError, to_text

ROOT = Path(__file__).resolve().parents[2]
UNSET = object()
SMALL = 12  # integers are drawn near their lower bound: sizes stay cheap to check

IDENTIFIER = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,7}", fullmatch=True)
TEXT = st.text(
    st.characters(exclude_categories=("Cc", "Cs"), include_characters="\t\n"), max_size=8
)


# ---- strategies read off the IR annotations ------------------------------------------


def _limits(metadata: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in metadata:
        if isinstance(item, FieldInfo):
            out.update(_limits(item.metadata))
        for attr in ("gt", "ge", "lt", "le", "min_length", "max_length", "pattern"):
            if getattr(item, attr, None) is not None:
                out[attr] = getattr(item, attr)
    return out


def _int(lim: dict[str, Any]) -> st.SearchStrategy[int]:
    if not lim:  # unconstrained: mostly sizes, sometimes zero or negative
        return st.one_of(st.integers(1, SMALL), st.integers(-SMALL, SMALL))
    low = lim.get("ge", lim["gt"] + 1 if "gt" in lim else -SMALL)
    high = lim.get("le", lim["lt"] - 1 if "lt" in lim else low + 2 * SMALL)
    return st.integers(low, min(high, low + 2 * SMALL))


def _float(lim: dict[str, Any]) -> st.SearchStrategy[float]:
    low = lim.get("ge", lim.get("gt"))
    high = lim.get("le", lim.get("lt"))
    bounds = {"exclude_min": "gt" in lim, "exclude_max": "lt" in lim}
    full = st.floats(low, high, allow_nan=False, allow_infinity=False, **bounds)
    if low is not None or high is not None:
        return full
    # Unconstrained: extreme values test `repr`; moderate positive ones pass validators
    # like `low < high` often enough to keep rejections rare.
    return st.one_of(st.floats(1e-6, 1e3), full)


def _str(lim: dict[str, Any]) -> st.SearchStrategy[str]:
    if "pattern" in lim:
        return IDENTIFIER
    return st.one_of(IDENTIFIER, TEXT).filter(lambda s: len(s) >= lim.get("min_length", 0))


_ANY = st.one_of(st.booleans(), st.integers(-100, 100), _float({}), _str({}))


def _strip(annotation: Any, metadata: list[Any]) -> tuple[Any, list[Any]]:
    while get_origin(annotation) is typing.Annotated:
        annotation, *extra = get_args(annotation)
        metadata = [*metadata, *extra]
    return annotation, metadata


def _for_annotation(annotation: Any, metadata: list[Any], depth: int) -> st.SearchStrategy[Any]:
    annotation, metadata = _strip(annotation, metadata)
    lim = _limits(metadata)
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return _union(get_args(annotation), metadata, depth)
    if origin is Literal:
        return st.sampled_from(get_args(annotation))
    if origin is list:
        (item,) = get_args(annotation)
        # Below the second level, collected lists stay empty (repeat inside repeat is enough).
        limit = 0 if depth >= 2 and _is_node(item) else 3
        low = lim.get("min_length", 0)
        return st.lists(
            _for_annotation(item, [], depth + 1), min_size=low, max_size=max(limit, low)
        )
    if origin is tuple:
        args = get_args(annotation)
        if len(args) == 2 and args[1] is Ellipsis:
            items = st.lists(
                _int({"ge": 1}),
                min_size=lim.get("min_length", 1),
                max_size=lim.get("max_length", 4),
            )
            return items.map(tuple)
        return st.tuples(*(_for_annotation(a, [], depth) for a in args))
    if annotation is type(None):
        return st.none()
    if isinstance(annotation, type) and issubclass(annotation, Node):
        return nodes(annotation, depth)
    table: dict[Any, Any] = {
        bool: st.booleans(),
        int: _int(lim),
        float: _float(lim),
        str: _str(lim),
        Any: _ANY,
    }
    return table[annotation]


def _is_node(annotation: Any) -> bool:
    return bool(members(annotation))


# Whether numeric fields may hold search spaces (off inside `concrete_specs()`).
_SPACES = [True]


def _union(arms: tuple[Any, ...], metadata: list[Any], depth: int) -> st.SearchStrategy[Any]:
    plain = [a for a in arms if not (members(a) and set(members(a).values()) <= set(SPACE_TYPES))]
    spaces = [a for a in arms if a not in plain]
    strategy = st.one_of(*(_for_annotation(a, metadata, depth) for a in plain))
    if not spaces or not _SPACES[0]:
        return strategy
    searched = st.one_of(*(_for_annotation(a, metadata, depth) for a in spaces))
    # A search space in about one numeric field of ten keeps most specs concrete.
    return st.one_of(*[strategy] * 9, searched)


# Strategies are built once per (annotation, depth): building them is not free.
_CACHE: dict[tuple[int, int, bool], tuple[Any, st.SearchStrategy[Any]]] = {}


def _cached(key: Any, depth: int, build: Any) -> st.SearchStrategy[Any]:
    cached = (id(key), depth, _SPACES[0])
    if cached not in _CACHE:
        _CACHE[cached] = (key, build())  # keep `key` alive so its id stays unique
    return _CACHE[cached][1]


def nodes(annotation: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """Any node `annotation` admits (a class or a union of kinds), valid on its own."""
    classes = list(dict.fromkeys(members(annotation).values())) or [annotation]
    return _cached(annotation, depth, lambda: st.one_of(*(_node(c, depth) for c in classes)))


@st.composite
def _node(draw: st.DrawFn, cls: type[Node], depth: int) -> Node:
    # Cross-field validators (low < high, exactly one warm-up length, ...) reject some
    # draws; retry a few times before giving up on this example.
    for _ in range(8):
        data: dict[str, Any] = {}
        for name, info in user_fields(cls).items():
            value = draw(_field(info, depth))
            if value is not UNSET:
                data[name] = value
        try:
            return cls.model_validate(data)
        except ValidationError:
            continue
    reject()


def _field(info: FieldInfo, depth: int) -> st.SearchStrategy[Any]:
    def build() -> st.SearchStrategy[Any]:
        strategy = _for_annotation(info.annotation, list(info.metadata), depth)
        return strategy if info.is_required() else st.one_of(st.just(UNSET), strategy)

    return _cached(info, depth, build)


# ---- whole specs: what no single node knows ----------------------------------------------

LAYER = list_item(Model.model_fields["layers"].annotation)


@st.composite
def graph_blocks(draw: st.DrawFn) -> list[Any]:
    """Graph constructs whose names resolve (a random operand name never does): a named
    branch and a merge reading it, a residual block, a parallel block; their inner layers
    are drawn like any other and kept only when shapes still fit."""
    inner = st.lists(nodes(LAYER, 2), max_size=2)
    merge = draw(st.sampled_from(sorted(MERGES)))
    choice = draw(st.integers(0, 2))
    if choice == 0:
        name = draw(IDENTIFIER.filter(lambda n: n != "input"))
        branch = Branch(name=name, layers=draw(inner))
        return [branch, MERGES[merge](operands=[name])]
    if choice == 1:
        return [Residual(layers=draw(inner))]
    branches = [Branch(layers=draw(inner)) for _ in range(draw(st.integers(2, 3)))]
    return [Parallel(merge=merge, branches=branches)]


@st.composite
def models(draw: st.DrawFn, name: str, shape: tuple[int, ...]) -> Model:
    base = draw(nodes(Model))
    model = base.model_copy(update={"name": name, "inputs": [Input(shape=shape)], "layers": []})
    for _ in range(draw(st.integers(0, 4))):
        for _ in range(6):  # layers that don't fit the current shape are drawn again
            layers = draw(st.one_of(nodes(LAYER, 1).map(lambda layer: [layer]), graph_blocks()))
            trial = model.model_copy(update={"layers": [*model.layers, *layers]})
            _, problems = infer(trial)
            if not any(d.severity is Severity.ERROR for d in problems):
                model = trial
                break
    return model


LOSS = Train.model_fields["loss"].annotation


@st.composite
def with_outputs(
    draw: st.DrawFn, spec_models: list[Model], train: Train
) -> tuple[list[Model], Train]:
    """Every model ending in the same `output` blocks; `train` with a loss for each."""
    names = draw(
        st.lists(IDENTIFIER.map(lambda n: f"out_{n}"), min_size=1, max_size=3, unique=True)
    )
    blocks = [
        Output(name=n, layers=[Flatten(), Dense(units=draw(st.integers(1, 4)))]) for n in names
    ]
    models = [m.model_copy(update={"layers": [*m.layers, *blocks]}) for m in spec_models]
    entries = [
        OutputTraining(
            name=n,
            loss=draw(nodes(LOSS)),
            weight=draw(st.sampled_from([1.0, 0.5, 2.0])),
            metrics=draw(
                st.lists(
                    nodes(list_item(OutputTraining.model_fields["metrics"].annotation)), max_size=2
                )
            ),
        )
        for n in names
    ]
    return models, train.model_copy(update={"loss": None, "outputs": entries})


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    data = draw(nodes(Spec.model_fields["data"].annotation))
    known, _, _ = data.sample_facts()
    shape = known or draw(st.lists(st.integers(1, 6), min_size=1, max_size=3).map(tuple))
    names = draw(st.lists(IDENTIFIER, min_size=1, max_size=3, unique=True))
    spec_models = [draw(models(n, tuple(shape))) for n in names]
    train = draw(nodes(Train))
    if draw(st.booleans()):  # several named outputs, each with its own loss
        spec_models, train = draw(with_outputs(spec_models, train))
    elif train.loss is None or train.outputs:
        train = train.model_copy(update={"loss": draw(nodes(LOSS)), "outputs": []})
    one_hot = train.loss is not None and train.loss.target == "onehot"
    transforms = [t for t in data.transforms if not isinstance(t, OneHot)]
    data = data.model_copy(
        update={"transforms": [*transforms, OneHot()] if one_hot else transforms}
    )
    train = train.model_copy(update={"model": draw(st.sampled_from([None, *names]))})
    spec = Spec(models=spec_models, data=data, train=train)
    shapes = {}
    for model in spec.models:
        result, _ = infer(model)
        if result is not None:
            shapes[model.name] = result
    assume(not [d for d in check_spec(spec, shapes, "") if d.severity is Severity.ERROR])
    return spec


@st.composite
def concrete_specs(draw: st.DrawFn) -> Spec:
    """`specs()` without search spaces: what `specc run` and `specc emit` take."""
    _SPACES[0] = False
    try:
        return draw(specs())
    finally:
        _SPACES[0] = True


# ---- random layouts of the same text ------------------------------------------------------

LEXER = Lark(resources.grammar_text(), parser="lalr", lexer="basic")
NOTE = "# note"


@st.composite
def relayouts(draw: st.DrawFn, text: str, notes: bool) -> str:
    """`text` with the layout between its tokens redrawn: `;` for line ends, odd spacing,
    lists broken over lines, and with `notes`, comments and blank lines anywhere."""
    pieces = [draw(st.sampled_from(["", "\n\n", "  ", ";\n"]))]
    brackets = braces = count = 0
    gap = None
    for token in LEXER.lex(text, dont_ignore=True):
        if token.type in ("WS", "_NL"):
            gap = (gap or "") + token.value
            continue
        if gap is not None or len(pieces) > 1:
            options = _gaps(gap or "", brackets, braces, notes)
            choice = draw(st.sampled_from(options))
            if NOTE in choice:
                count += 1
                choice = choice.replace(NOTE, f"{NOTE} {count}")
            pieces.append(choice)
        pieces.append(token.value)
        brackets += {"LPAR": 1, "LSQB": 1, "RPAR": -1, "RSQB": -1}.get(token.type, 0)
        braces += {"LBRACE": 1, "RBRACE": -1}.get(token.type, 0)
        gap = ""
    pieces.append(draw(st.sampled_from(["", "\n", ";\n\n", f"\n{NOTE} end\n" if notes else ""])))
    return "".join(pieces)


def _gaps(gap: str, brackets: int, braces: int, notes: bool) -> list[str]:
    if brackets:  # inside ( ) or [ ] a line break is only layout
        return (
            ["", " ", "\n", "\n        "]
            if not gap
            else [" ", "\n  ", f" {NOTE}\n"]
            if notes
            else [" ", "\n  "]
        )
    if "\n" in gap:  # a statement boundary
        options = ["\n", ";", " ; ", "\n\t", ";;\n   "]
        if braces == 0:
            options.append("\n\n\n")  # top-level blocks: still exactly one blank line
        if notes:
            options += [f"  {NOTE}\n", f"\n{NOTE}\n", f"\n\n   {NOTE}\n\n", "\n\n"]
        return options
    return [" ", "   ", "\t"] if gap else ["", " "]


def _notes(text: str) -> list[str]:
    return re.findall(rf"{NOTE} (?:\d+|end)", text)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(specs(), st.data())
def test_random_specs_round_trip_through_text(spec: Spec, data: st.DataObject) -> None:
    text = to_text(spec)
    analysis = analyze(text, "roundtrip.nn")
    assert not analysis.errors, (text, analysis.errors)
    assert strip_spans(analysis.spec) == strip_spans(spec), text
    # The unparser's output is already formatted, and any layout of it formats back to it.
    assert format_text(text) == text
    messy = data.draw(relayouts(text, notes=False), label="messy")
    assert format_text(messy) == text
    # With comments and blank lines added: same IR, idempotent, every comment kept in order.
    noted = data.draw(relayouts(text, notes=True), label="noted")
    once = format_text(noted)
    assert format_text(once) == once
    assert strip_spans(analyze(once).spec) == strip_spans(spec)
    assert _notes(once) == _notes(noted)


# ---- examples --------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted((ROOT / "specs").glob("*.nn")), ids=lambda p: p.stem)
def test_example_specs_round_trip(path: Path) -> None:
    original = analyze(path.read_text())
    text = to_text(original.spec)
    again = analyze(text)
    assert again.ok, again.errors
    assert strip_spans(again.spec) == strip_spans(original.spec)


def test_to_text_writes_only_what_differs_from_defaults() -> None:
    spec = analyze(
        "model m {\n    input 1x28x28\n    conv2d 8 3x3 relu stride=2 init=uniform(-0.1, 0.1)\n"
        "    dense 10 bias=false frozen\n}\n"
        "data mnist_sample { scale 1/255; batch 64 shuffle }\n"
        "train { loss ce; optimizer sgd lr=loguniform(1e-4, 1e-2) nesterov momentum=0.9;"
        " checkpoint last; warmup steps=100 }\n"
    ).spec
    assert to_text(spec) == (
        "model m {\n"
        "    input 1x28x28\n"
        "    conv2d 8 3x3 relu stride=2 init=uniform(-0.1, 0.1)\n"
        "    dense 10 frozen bias=false\n"
        "}\n\n"
        "data mnist_sample {\n"
        "    scale 0.00392156862745098\n"
        "    batch 64 shuffle\n"
        "}\n\n"
        "train {\n"
        "    loss sparse_categorical_crossentropy\n"
        "    optimizer sgd nesterov lr=loguniform(0.0001, 0.01) momentum=0.9\n"
        "    warmup steps=100\n"
        "    checkpoint last\n"
        "}\n"
    )


def test_values_that_would_read_differently_are_keyed_or_quoted() -> None:
    # `model true` is fine but a quoted name is safer; `init from from` would skip both
    # words (`from` is filler), so the source is keyed.
    spec = Spec(
        models=[
            Model(
                name="true", inputs=[Input(shape=(8,))], init=InitFrom(source="from", strict=False)
            )
        ]
    )
    text = to_text(spec)
    assert text == 'model "true" {\n    input 8\n    init source=from strict=false\n}\n'
    assert strip_spans(analyze(text).spec) == strip_spans(spec)
    # `normalize 0.5` would set the mean: a lone std is written by name. Strings that are
    # not plain words are quoted and escaped.
    data = MNIST(transforms=[Normalize(std=0.5)], path='a "b"\n')
    assert to_text(Spec(data=data)) == (
        'data mnist {\n    normalize std=0.5\n    path "a \\"b\\"\\n"\n}\n'
    )
    assert strip_spans(analyze(to_text(Spec(data=data))).spec.data) == strip_spans(data)


def test_unwritable_values_raise_a_clear_error() -> None:
    # The IR refuses non-finite numbers itself; a node built around validation still
    # cannot be written.
    with pytest.raises(ValidationError, match="finite"):
        Scale(factor=float("nan"))
    with pytest.raises(UnparseError, match="finite"):
        to_text(Spec(data=MNIST(transforms=[Scale.model_construct(factor=float("nan"))])))
