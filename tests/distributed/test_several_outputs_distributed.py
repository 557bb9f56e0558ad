"""A model with several named outputs is not trained data-parallel yet: torch DDP ranks
and TensorFlow's mirrored replicas both refuse it with E600 and the way to run it."""

from __future__ import annotations

from pathlib import Path

import pytest
from dist_helpers import specc

pytestmark = pytest.mark.timeout(600)

EXAMPLE = str(Path(__file__).resolve().parents[2] / "specs" / "two_outputs.nn")


@pytest.mark.parametrize(
    ("backend", "args", "env", "says"),
    [
        (
            "torch",
            ["--nproc", "2"],
            {},
            "error[E600]: model `two_outputs` has several outputs, which a distributed run "
            "does not train yet",
        ),
        (
            "tensorflow",
            [],
            {"SPECC_TF_CPU_REPLICAS": "2"},
            "error[E600]: model `two_outputs` has several outputs, which a run mirrored over "
            "2 devices does not train yet",
        ),
    ],
)
def test_data_parallel_runs_refuse_several_outputs(
    tmp_path: Path, backend: str, args: list[str], env: dict[str, str], says: str
) -> None:
    out = tmp_path / "r"
    done = specc("run", EXAMPLE, "--backend", backend, *args, "--out", str(out), **env)
    assert done.returncode == 1, done.stderr
    assert says in done.stderr and "Traceback" not in done.stderr
