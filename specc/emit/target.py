"""`Target`: everything one emit target declares. A target module holds one instance.

A target is data, not code paths: which template renders it, which names its template
writes (so spec names never shadow them), which lowering rewrites it needs, and which
IR features it cannot express (the capability table, enforced as E600 diagnostics).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from specc.emit.lower import ScriptPlan
    from specc.lowering import Lowered

Rewrite = Callable[["ScriptPlan"], "ScriptPlan"]
LayoutPass = Callable[["Lowered"], "Lowered"]


IMAGE_FILES: dict[str, str] = {
    "csv.image_files": "reading image files named by a CSV column is not emitted yet; use "
    "`specc run`",
}
"""Images + a CSV (docs/data.md#images-and-a-csv): `specc run` reads them, no script yet."""


IGNORED_TARGETS: dict[str, str] = {
    "loss_ignore.outputs": "an output's `ignore=` is not written yet; use `specc run`",
}
"""`ignore=` in a loss of one of several outputs: no target writes it yet (E600)."""


def words(text: str) -> frozenset[str]:
    """A whitespace-separated list of names (for `Target.reserved`)."""
    return frozenset(text.split())


@dataclass(frozen=True)
class Target:
    name: str
    """The `--target` word: `pytorch`."""
    framework: str
    """What the script imports, for messages and the docstring: `PyTorch`."""
    template: str
    """The template of the generated file, relative to the templates folder."""
    weights_file: str
    """What the script saves under `--out`: `model.pt`."""
    reserved: frozenset[str] = frozenset()
    """Names the template writes (module level, or attributes of the model class)."""
    layout: LayoutPass | None = None
    """The shared lowering's layout pass this framework needs (`channels_last`), if any."""
    rewrites: tuple[Rewrite, ...] = ()
    """Passes run on the script plan, in order, before rendering (typed template facts)."""
    unsupported: Mapping[str, str] = field(default_factory=dict)
    """Capability table: feature key (see specc/lowering/capabilities.py) -> why not."""
    requires: tuple[str, ...] = ()
    """Python packages the emitted script imports (besides numpy)."""
    macros: str = ""
    """The folder of its per-kind macro files (layers.j2, ...): default the target's name;
    `tensorflow` builds the same Keras model as `keras`."""
    dataset_helper: str | None = None
    """How the script gets a downloadable image set (MNIST, CIFAR-10, ...) without
    --data-dir: the framework's own helper (`keras.datasets`), or None to download the files
    itself (from specc.data's mirrors)."""
    device_help: str = "auto, cpu, cuda or mps"
    """The help text of the script's --device flag."""
    stdlib: tuple[str, ...] = ()
    """Standard-library modules its template always imports besides the shared ones."""
    custom_optimizer: Callable[[ScriptPlan], str | None] | None = None
    """Which optimizer class of its own the script must define (the framework's class would
    change the spec's update), e.g. `"rmsprop"`; None (or no function): the framework's."""

    input_var: str = "x"
    """The variable the model's input arrives in: `forward(self, x)`; Keras's functional
    API keeps `inputs` for `keras.Model(inputs, x)`."""

    @property
    def macro_folder(self) -> str:
        return self.macros or self.name
