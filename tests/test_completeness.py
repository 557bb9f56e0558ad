"""Completeness, derived from the registry: every kind has a builder in every backend and a
macro in every emit target, or that backend/target declares it unsupported with a reason.

Nothing here lists kinds, backends or targets by hand: the kinds come from the IR's unions
(specc.ir.registry), the backends from `specc.executors.BACKENDS`, the targets from
`specc.emit.NAMES`. Adding a kind without its builders or macros fails here, naming what
is missing.
"""

from __future__ import annotations

import importlib
import re
from functools import cache
from pathlib import Path

import pytest

from specc.emit import NAMES
from specc.emit.targets import get_target
from specc.executors import BACKENDS
from specc.ir import data as D
from specc.ir import inits as I
from specc.ir import layers as L
from specc.ir import losses as LS
from specc.ir import optimizers as O
from specc.ir import schedules as S
from specc.ir import training as T
from specc.ir.registry import members
from specc.resources import templates_dir

LAYER_KINDS = [c for c in set(members(L.AnyLayer).values()) if not c.structural]  # lowered away
ACTIVATIONS = set(members(L.ActivationKind).values())
CATEGORIES = {
    "layer": LAYER_KINDS,
    "loss": list(set(members(LS.AnyLoss).values())),
    "optimizer": list(set(members(O.AnyOptimizer).values())),
    "init": list(set(members(I.Init).values())),
    "metric": list(set(members(T.AnyMetric).values())),
    "schedule": list(set(members(S.AnySchedule).values())),
    "transform": list(set(members(D.AnyTransform).values())),
    "data": list(set(members(D.AnyData).values())),
}


def _id(cls: type) -> str:
    return cls.kind_name()  # type: ignore[attr-defined,no-any-return]


# ---- backends ----------------------------------------------------------------------------


def _backend_tables(backend: str) -> dict[str, set[type]]:
    """What each backend can build, from its own dispatch tables (imports the framework)."""
    from specc import init_weights, schedule
    from specc.data import loader, transforms

    shared = {
        "init": set(init_weights.INITIALISERS),
        "schedule": set(schedule.BASE_RULES),
        "transform": set(transforms.TRANSFORMS),
        "data": set(loader.READERS),
        "metric": {c for c in CATEGORIES["metric"] if _metric_known(c)},
    }
    # Every backend package has the same modules with the same tables.
    model, losses, optimizers = (
        importlib.import_module(f"{BACKENDS[backend]}.{name}")
        for name in ("model", "losses", "optimizers")
    )
    own = {
        "layer": set(model.LAYERS),
        "loss": set(losses.LOSSES),
        "optimizer": set(optimizers.OPTIMIZERS),
    }
    return {**shared, **own}


def _metric_known(cls: type) -> bool:
    from specc import metrics

    return cls is T.TopKAccuracy or _id(cls) in metrics.METRICS


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_every_kind_has_a_builder_in_every_backend(backend: str, category: str) -> None:
    declared = importlib.import_module(BACKENDS[backend]).UNSUPPORTED
    tables = _backend_tables(backend)
    missing = [
        _id(cls)
        for cls in CATEGORIES[category]
        if cls not in tables[category]
        and not any(issubclass(cls, known) for known in tables[category])
        and f"{category}.{_id(cls)}" not in declared
    ]
    assert not missing, f"{backend} has no builder for {category} kinds {missing}"


def test_every_reason_is_a_sentence() -> None:
    for backend in BACKENDS:
        for key, why in importlib.import_module(BACKENDS[backend]).UNSUPPORTED.items():
            assert len(why.split()) >= 3, (backend, key)
    for target in NAMES:
        for key, why in get_target(target).unsupported.items():
            assert len(why.split()) >= 3, (target, key)


# ---- emit targets ------------------------------------------------------------------------

_IMPORT = re.compile(r"""{%-?\s*(?:import|from|extends|include)\s+["']([^"']+)["']""")
_MACRO = re.compile(r"{%-?\s*macro\s+([A-Za-z_][A-Za-z0-9_]*)")


@cache
def macros(template: str) -> frozenset[str]:
    """Every macro defined in `template` and the templates it imports or extends."""
    text = (templates_dir() / template).read_text(encoding="utf-8")
    found = set(_MACRO.findall(text))
    for other in _IMPORT.findall(text):
        found |= macros(other)
    return frozenset(found)


# The macro a target writes for a kind of each category (the naming of specc/emit/__init__.py).
MACRO_PREFIX = {"layer": "layer_", "loss": "loss_", "optimizer": "optimizer_", "init": "init_"}


@pytest.mark.parametrize("target", NAMES)
@pytest.mark.parametrize("category", sorted(MACRO_PREFIX))
def test_every_kind_has_a_macro_in_every_target(target: str, category: str) -> None:
    tgt = get_target(target)
    defined = macros(tgt.template)
    missing = []
    for cls in CATEGORIES[category]:
        kind = _id(cls)
        if f"{category}.{kind}" in tgt.unsupported:
            continue
        wanted = [MACRO_PREFIX[category] + kind]
        writes_forward = (
            "call_dense" in defined
        )  # PyTorch: `layer_` in __init__, `call_` in forward
        if category == "layer" and cls in ACTIVATIONS:
            # an activation is written with `act_` (as `activation=` and, in a forward, alone)
            wanted = ["act_" + kind] if writes_forward else [*wanted, "act_" + kind]
        elif category == "layer" and writes_forward:
            wanted.append("call_" + kind)
        missing += [name for name in wanted if name not in defined]
    assert not missing, f"{target} ({tgt.template}) lacks macros {missing}"


def test_templates_are_found() -> None:
    assert Path(templates_dir()).is_dir()
    assert "layer_dense" in macros(get_target(NAMES[0]).template)
