"""`specc emit`: standalone training scripts for PyTorch, Keras, TensorFlow and MindSpore.

    emit(analysis_or_path, "pytorch") -> the script's text

A script depends only on its framework and numpy (never on specc) and means exactly what
docs/semantics.md says. The pipeline, one module per step:

1. `specc.analysis.analyze` checks the spec (errors stop here: `EmitError`);
2. the shared capability gate (`specc.lowering.capabilities`: `search_spaces`, E601, and
   `unsupported`, E600) refuses what the target cannot express, pointing at the spec;
3. `lower.plan` builds a `ScriptPlan` from the shared lowering (`specc.lowering`: named
   steps with their weights, the prediction head split off, the target's layout pass),
   with Python names and data and training facts, then runs the target's rewrites and,
   last, `graph.assign`: the script variables each layer reads and writes (`x` throughout
   a chain; `skip = x`, `b1`/`b2` or a branch's name in a graph model);
4. `facts.ScriptFacts` decides everything else a template would otherwise compute (is the
   source an image set, does the script download it, which modules it imports, which
   optimizer class it defines, whether it writes the neutral weights file, ...);
5. `env.render` renders the target's template with `plan`, `facts` and `target`: templates
   only loop and interpolate; `tidy.tidy` then runs ruff's fixer (imports) and formatter
   (every line break), so templates never fit lines into 100 columns.

How to add a target (say `jax`):

- `specc/emit/targets/jax.py` defines `TARGET = Target(name="jax", framework="JAX",
  template="jax/train.py.j2", weights_file=..., reserved=..., rewrites=(...),
  unsupported={feature: why, ...})` and holds only what differs from other targets
  (extra rewrites as small functions; `device_help`, `dataset_helper`, `stdlib`,
  `custom_optimizer` when they differ). Add its name to `targets.NAMES`.
- Capability table: `unsupported` maps a feature key (`layer.conv2d`, `schedule.one_cycle`,
  `weight_decay`, ...; `specc targets` lists them, specc/lowering/capabilities.py defines
  them; backends declare theirs the same way) to a
  one-line reason shown as the E600 help. Anything not listed must work.
- Templates in `templates/jax/`: `train.py.j2` extends the script skeleton
  `templates/common/train.py.j2` (docstring, imports, constants, flags, data, schedule,
  neutral weights, `main`), or `templates/common/loop.py.j2` for a hand-written epoch loop
  (evaluation, checkpoints, early stopping, plateau, test, saves), and fills in only the
  blocks its framework spells differently (`model`, `eval_batch`, `train_step`,
  `save_best`, ...: each base template's comment lists them). It imports one macro file
  per IR category with the same macro names as the other targets: `layers.j2`
  (`layer_<kind>(layer)`: how a layer is built; `act_<kind>(...)`: an activation; PyTorch
  adds `call_<kind>(layer)` for `forward`), `inits.j2` (`init_<kind>(...)`), `losses.j2`
  (`loss_<kind>(loss)`), `optimizers.j2` (`optimizer_<kind>(opt, ...)`), `metrics.j2`
  (`metric_<kind>(...)`). Look a macro up by kind with `mod["layer_" ~ layer.kind](layer)`,
  or `kind_macro("transform_", t.kind)(t, plan)` inside the same template. Framework-free parts
  shared by every target live in `templates/common/`: `docstring.j2`, `config.j2`
  (constants, the shared flags, `improved()`), `data.j2` (NumPy loaders for every source,
  transforms, splits), `idx.j2` and `cifar.j2` (an image set's readers and its download
  with specc.data's mirror and checksums: the same macro names, picked by the data
  class's `file_format`),
  `schedule.j2` (the exact learning-rate formula as a plain function, `Plateau`),
  `metrics.j2` (NumPy metrics) and `weights.j2` (the neutral weights file and `init
  from`). Filters: `py` (a Python literal: the only way spec values enter a script), `doc`
  (docstring-safe text), `wrap` (prose within 100 columns), `shape` (`(B, 28, 28)`),
  `block`/`tight` (whitespace).
- Layout and rewrites: `Target.layout` names the shared lowering's layout pass
  (`specc.lowering.layout.channels_last`, the one the TensorFlow executor uses too);
  `Target.rewrites` run on the script plan, e.g. `lower.channels_last_input` (image data
  loaded channels-last instead of a leading transpose); add yours to `lower.py` when two
  targets share it. Weight names and axis orders come from the
  framework tables of specc/lowering/weights.py.
- Names: `Target.reserved` lists every name the template writes at module level (and
  attributes of the model class); spec names that would clash get renamed.
- Tests: add the target to `tests/emit/` (executed runs) and regenerate goldens with
  `python scripts/regen_goldens.py`.
"""

from __future__ import annotations

from pathlib import Path

from specc.analysis import Analysis, analyze_file
from specc.diagnostics import Diagnostic
from specc.emit.env import render
from specc.emit.facts import ScriptFacts
from specc.emit.lower import ScriptPlan, plan
from specc.emit.targets import NAMES, UnknownTarget, get_target
from specc.emit.tidy import tidy
from specc.errors import SpeccError
from specc.lowering.capabilities import search_spaces, unsupported

__all__ = ["NAMES", "EmitError", "UnknownTarget", "emit", "emit_plan"]


class EmitError(SpeccError):
    """The spec cannot be emitted for this target; `diagnostics` say where and why."""

    def __init__(self, analysis: Analysis, diagnostics: list[Diagnostic]) -> None:
        super().__init__(
            f"{len(diagnostics)} problem(s) in {analysis.path}",
            diagnostics=diagnostics,
            source=(analysis.path, analysis.text),
        )
        self.analysis = analysis


def emit_plan(
    source: Analysis | str | Path,
    target: str,
    *,
    model: str | None = None,
    script: str | None = None,
) -> ScriptPlan:
    """Check `source` for `target` and lower it; raises EmitError with diagnostics."""
    tgt = get_target(target)
    analysis = source if isinstance(source, Analysis) else analyze_file(source)
    if not analysis.ok:
        raise EmitError(analysis, analysis.errors)
    problems = search_spaces(analysis) + unsupported(analysis, target, model)
    chosen = analysis.spec.model_named(model)
    if chosen is None:
        names = ", ".join(m.name for m in analysis.spec.models)
        raise UnknownTarget(f"no model named {model!r} in {analysis.path} (models: {names})")
    if problems:
        raise EmitError(analysis, problems)
    command = f"specc emit {analysis.path} --target {target}"
    if model is not None:
        command += f" --model {chosen.name}"
    return plan(
        analysis.spec,
        analysis.shapes[chosen.name],
        tgt,
        text=analysis.text,
        path=analysis.path,
        command=command,
        script=script or f"{chosen.name}_{target}.py",
    )


def emit(
    source: Analysis | str | Path,
    target: str,
    *,
    model: str | None = None,
    script: str | None = None,
    interop: bool = False,
    ddp: bool = False,
) -> str:
    """The training script for `source` (an Analysis or a spec file path) on `target`.

    `script` is the file name the docstring's run command uses (default
    `<model>_<target>.py`). `interop`: also write (and read, for `init from`) the neutral
    weights file `specc run` uses; without it only a spec with `init from` has it. `ddp`:
    the script trains data-parallel when started by torchrun (pytorch only). Raises
    EmitError (spec problems, with diagnostics) or UnknownTarget (bad target or model
    name, or `ddp` for another target).
    """
    if ddp and target != "pytorch":
        raise UnknownTarget(f"--ddp is for --target pytorch only, not {target}")
    p = emit_plan(source, target, model=model, script=script)
    tgt = get_target(target)
    facts = ScriptFacts(p, tgt, interop=interop, ddp=ddp)
    return tidy(render(tgt.template, plan=p, facts=facts, target=tgt))
