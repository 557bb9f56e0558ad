"""`specc.run(path_or_text, options) -> RunResult`: the public way to train a spec.

The CLI, `specc sweep`/`compare` and the tests all call this. It resolves the plan, loads
the data, picks the device, writes the run directory and runs the shared loop; every user
mistake surfaces as `specc.errors.RunError` or `specc.data.DataError`, never a traceback.
"""

from __future__ import annotations

import dataclasses
import math
import platform
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from specc import __version__
from specc.analysis import Analysis, analyze, analyze_file
from specc.data import Dataset, load
from specc.data.loader import recorded
from specc.data.text_folder import VOCAB_FILE, saved_vocabulary
from specc.errors import InterruptedRun, RunError, UsageError
from specc.executors import Executor, get
from specc.init_weights import initial_weights
from specc.ir import strip_spans
from specc.ir.sequence import vocabulary
from specc.plan import RunOptions, RunPlan, check_backend, make_plan
from specc.run import distributed, plots
from specc.run.data_fit import check_fit, class_outputs
from specc.run.loop import EpochHook, train
from specc.run.progress import Progress, choose_mode
from specc.run.record import RunDir
from specc.run.resume import Reopened, check_epochs, reopen
from specc.run.transfer import init_vocabulary, transfer
from specc.token_checks import steps_predicted


@dataclass
class RunResult:
    run_dir: Path
    backend: str
    device: str
    epochs: int
    train_seconds: float
    metrics: dict[str, float]
    history: list[dict[str, Any]] = field(default_factory=list)
    stopped_early: bool = False
    plan: RunPlan | None = None
    train_cpu_seconds: float = 0.0
    compile_seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The `specc run --json` object."""
        return {
            "run_dir": str(self.run_dir),
            "backend": self.backend,
            "device": self.device,
            "epochs": self.epochs,
            "train_seconds": round(self.train_seconds, 4),
            "compile_seconds": round(self.compile_seconds, 4),
            "metrics": {
                k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in self.metrics.items()
            },
        }


def _analysis(path_or_text: str | Path | Analysis) -> Analysis:
    """A Path, or a string without newlines, names a file; anything else is spec text.

    An `Analysis` is used as is: a sweep runs generated text under the original file's path,
    so relative data paths and `init from` still resolve next to that file.
    """
    if isinstance(path_or_text, Analysis):
        return path_or_text
    if isinstance(path_or_text, Path) or "\n" not in path_or_text:
        path = Path(path_or_text)
        if path.is_dir():
            found = sorted(p.name for p in path.glob("*.nn"))
            listed = ", ".join(found[:3]) + (", ..." if len(found) > 3 else "")
            raise UsageError(
                f"{path_or_text} is a folder; `specc run` trains one spec file",
                f"name one of its specs ({listed})" if found else "name a .nn spec file",
            )
        if not path.is_file():
            raise UsageError(f"no such spec file: {path_or_text}")
        try:
            return analyze_file(path)
        except OSError as err:
            raise UsageError(f"cannot read {path}: {err.strerror or err}") from None
    return analyze(path_or_text)


def _environment(backend: Executor, plan: RunPlan, device: str) -> dict[str, Any]:
    return {
        "specc": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "numpy": np.__version__,
        "backend": plan.backend,
        "device": device,
        "device_requested": plan.device,
        **backend.versions(),
    }


def run(
    path_or_text: str | Path | Analysis | None,
    options: RunOptions | None = None,
    on_epoch_end: EpochHook | None = None,
) -> RunResult:
    """Train the spec (a file path, spec text or an `Analysis`); `options.resume` continues.

    `on_epoch_end(epoch, record) -> stop?` is called after every epoch (sweeps prune with it).
    Under torchrun (or a multi-worker TF_CONFIG) every rank calls this; rank 0 writes.
    """
    options = options or RunOptions()
    world = distributed.World.from_env()
    try:
        return _run(path_or_text, options, on_epoch_end, world)
    finally:
        if world.active:
            world.stop()


def _run(
    path_or_text: str | Path | Analysis | None,
    options: RunOptions,
    on_epoch_end: EpochHook | None,
    world: distributed.World,
) -> RunResult:
    resumed: Reopened | None = None
    if options.resume:
        resumed = reopen(options)
        options, text = resumed.options, resumed.text
        if path_or_text is not None and _analysis(path_or_text).text != text:
            raise UsageError(
                f"{path_or_text} differs from the spec the run in {options.resume} started with",
                f"resume with the run's own copy: specc run --resume {options.resume}",
            )
        analysis = analyze(text, resumed.spec_path)
    elif path_or_text is None:
        raise UsageError("no spec given", "specc run FILE")
    else:
        analysis = _analysis(path_or_text)
    plan = make_plan(analysis, options)
    backend = get(plan.backend)
    check_backend(plan, backend.unsupported(plan))
    distributed.check_backend(world, backend, plan.options.sync_batchnorm)
    mode = choose_mode(options.quiet, options.json) if world.main else "silent"
    device = (
        world.start(plan.device, backend.resolve_device)
        if world.active
        else backend.resolve_device(plan.device)
    )
    dataset = load(
        plan.data,
        override=options.data,
        spec_dir=plan.spec_dir,
        limit=options.limit,
        download=options.download,
        progress=mode != "silent",
        outputs=class_outputs(plan),
        vocab=vocabulary(plan.shapes),
        inputs=dict(plan.shapes.inputs),
        output_targets=plan.output_targets(),
        steps=steps_predicted(plan.shapes),
        vocabulary=saved_vocabulary(resumed.run_dir.path, plan.data)
        if resumed
        else init_vocabulary(plan.model.init, plan.data, plan.spec_dir, (plan.path, plan.text)),
    )
    check_fit(plan, dataset)
    replicas = backend.replicas(device) if hasattr(backend, "replicas") else 1
    distributed.check_batch(plan, world, len(dataset.x_train), replicas)
    weights = initial_weights(plan.shapes, plan.seed)
    layer_names = [info.name for info in plan.shapes.layers]
    if plan.model.init is not None and resumed is None:
        weights = transfer(plan.model.init, plan.spec_dir, weights, layer_names)
    progress = Progress(mode, plan.epochs)
    how = " (auto: the best device present)" if plan.device == "auto" else ""
    progress.info(f"training `{plan.model.name}` on {plan.backend}, device {device}{how}")
    if world.active:
        per = plan.batch_size // world.size
        progress.info(f"global batch {plan.batch_size} = {world.size} ranks x {per}")
    elif replicas > 1:  # several local devices in this process (tensorflow's MirroredStrategy)
        per = plan.batch_size // replicas
        progress.info(f"global batch {plan.batch_size} = {replicas} replicas x {per}")
    resume_state = None
    if resumed is not None:
        run_dir = resumed.run_dir if world.main else distributed.MirrorRunDir(resumed.run_dir.path)
        for note in resumed.notes:
            progress.info(note)
        if resumed.checkpoint is not None:
            weights, optimizer_blob, loop_state = resumed.checkpoint
            done = int(loop_state["epoch"])
            check_epochs(resumed, plan.epochs, done, bool(loop_state.get("stopped_early")))
            resume_state = (optimizer_blob, loop_state)
            progress.info(f"resuming {run_dir.path} after epoch {done} of {plan.epochs}")
            planned = int(loop_state.get("epochs", plan.epochs))
            if planned != plan.epochs and getattr(plan.train.schedule, "spans_the_run", False):
                progress.info(
                    f"note: the `{plan.train.schedule.kind}` schedule spans the run: its rates "
                    f"from epoch {done + 1} on follow the new length ({plan.epochs} epochs), "
                    f"so the run differs from one started with {plan.epochs} epochs"
                )
        else:
            done = 0
            if plan.model.init is not None:
                weights = transfer(plan.model.init, plan.spec_dir, weights, layer_names)
        run_dir.truncate_records(done)
        _start_record(run_dir, plan, options, dataset, backend, device, world)
    elif world.main:
        try:
            run_dir = RunDir.create(options.out, plan.model.name)
            _start_record(run_dir, plan, options, dataset, backend, device, world)
        except RunError as err:
            world.broadcast(("error", err.message, err.hint))  # the others stop with it
            raise
        world.broadcast(("path", str(run_dir.path), None))
    else:
        what, text, hint = world.broadcast(None)  # rank 0 chooses the run path
        if what == "error":
            raise UsageError(text, hint)
        run_dir = distributed.MirrorRunDir(Path(text))
    if world.main:
        distributed.announce(run_dir.path)
    try:
        result = train(
            plan,
            backend,
            dataset,
            run_dir,
            progress,
            device,
            weights,
            resume_state,
            on_epoch_end,
            world,
        )
    except RunError:
        if world.main:
            _status(run_dir, "failed")
        raise
    except KeyboardInterrupt:
        if world.main:
            _status(run_dir, "interrupted")
        raise interrupted(run_dir) from None
    except Exception as err:
        lost = distributed.peer_lost(world, err, run_dir.path) if world.active else None
        if lost is None:
            raise
        raise lost from None
    finally:
        progress.close()
    final = backend.get_weights(result.state)
    run_dir.save_weights("weights.safetensors", final, layer_names)
    if world.main:
        backend.save_native(result.state, run_dir.path)
    run_dir.write_json(
        "metrics.json",
        {  # the metrics, then the RUN_FACTS
            **result.metrics,
            "epochs": result.epochs,
            "train_seconds": result.train_seconds,
            "train_cpu_seconds": result.train_cpu_seconds,  # this process's share only
            "compile_seconds": result.compile_seconds,  # not part of train_seconds
            "stopped_early": result.stopped_early,
            "best_epoch": result.best_epoch,
            "restored_epoch": result.restored_epoch,  # restore_best: whose weights were kept
        },
    )
    if world.main:
        title = f"model {plan.model.name}, run {run_dir.path.name}"
        plots.write_plots(run_dir.path, run_dir.records, title)
        _status(run_dir, "finished")
    world.barrier()  # every file is written before any rank returns
    return RunResult(
        run_dir=run_dir.path,
        backend=plan.backend,
        device=device,
        epochs=result.epochs,
        train_seconds=result.train_seconds,
        metrics=result.metrics,
        history=result.history,
        stopped_early=result.stopped_early,
        plan=plan,
        train_cpu_seconds=result.train_cpu_seconds,
        compile_seconds=result.compile_seconds,
    )


def _start_record(
    run_dir: RunDir,
    plan: RunPlan,
    options: RunOptions,
    dataset: Dataset,
    backend: Executor,
    device: str,
    world: distributed.World = distributed.SINGLE,
) -> None:
    run_dir.write_text("spec.nn", plan.text)
    run_dir.write_json("ir.json", strip_spans(plan.spec.model_dump(mode="json")))
    spec_path = plan.path if plan.spec_dir is None else str(Path(plan.path).resolve())
    run_dir.write_json(
        "run.json",
        {
            "status": "running",
            "spec_path": spec_path,
            "resolved": {**plan.resolved(), "device": device, "device_requested": plan.device},
            "data": {
                "source": dataset.source,
                "fingerprint": dataset.fingerprint,
                "sizes": dataset.sizes(),
                "classes": dataset.classes,
                "class_names": dataset.class_names,  # CSV labels, CIFAR-10 classes: `specc predict`
                "task": dataset.task,
            },
            "params": plan.shapes.params,
            "ranks": world.size,
            # local replicas per rank (tensorflow's MirroredStrategy on several devices)
            "replicas": backend.replicas(device) if hasattr(backend, "replicas") else 1,
            "options": {
                k: recorded(v) if k == "data" else v
                for k, v in dataclasses.asdict(options).items()
                if k not in ("quiet", "json", "resume")
            },
        },
    )
    run_dir.write_json("env.json", _environment(backend, plan, device))
    if dataset.vocabulary is not None:  # a tokenized text source: resume and predict reuse it
        run_dir.write_json(VOCAB_FILE, dataset.vocabulary)


def interrupted(run_dir: RunDir) -> InterruptedRun:
    """Ctrl-C: how far the run got and the exact command that continues it."""
    done = max((int(r["epoch"]) for r in run_dir.records if "step" not in r), default=0)
    how = f"continue it: specc run --resume {run_dir.path}"
    if done == 0:
        return InterruptedRun(
            "interrupted before the first epoch ended (no checkpoint yet)",
            f"{how} (it trains from the beginning, in the same directory)",
        )
    return InterruptedRun(
        f"interrupted after epoch {done}", f"{how} (from epoch {done}'s checkpoint)"
    )


def _status(run_dir: RunDir, status: str) -> None:
    info = run_dir.read_json("run.json")
    info["status"] = status
    run_dir.write_json("run.json", info)
