"""`specc run --nproc N`: start N ranks on this machine with torchrun's own launcher.

The same as `torchrun --standalone --nproc-per-node N -m specc run ...` (torch's elastic
agent, a c10d rendezvous on a free loopback port, no restarts), except that a failure is
reported once, as a sentence: a rank killed by a signal names the rank and the signal and
how to resume; a rank that exited with an error has already printed it (rank 0 speaks for
errors every rank meets), so nothing is repeated.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import uuid
from pathlib import Path

from specc.errors import RunError
from specc.run.distributed import LAUNCH_INFO_ENV, LAUNCHED_ENV
from specc.run.record import CHECKPOINT


def launch(nproc: int, args: list[str]) -> int:
    """Run `specc run ARGS` on `nproc` local ranks; the exit code for the command."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    logging.getLogger("torch.distributed.elastic").setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory(prefix="specc-launch-") as scratch:
        info = Path(scratch) / "run_dir"
        os.environ[LAUNCH_INFO_ENV] = str(info)
        os.environ[LAUNCHED_ENV] = "1"
        config = LaunchConfig(
            min_nodes=1,
            max_nodes=1,
            nproc_per_node=nproc,
            run_id=f"specc-{uuid.uuid4().hex[:8]}",
            rdzv_backend="c10d",
            rdzv_endpoint="127.0.0.1:0",
            max_restarts=0,
            monitor_interval=0.1,
        )
        try:
            elastic_launch(config, sys.executable)("-m", "specc", "run", *args)
        except ChildFailedError as err:
            rank, failure = err.get_first_failure()
            if failure.exitcode > 0:
                return failure.exitcode
            run_dir = info.read_text(encoding="utf-8") if info.is_file() else None
            raise RunError(
                f"rank {rank} (pid {failure.pid}) was stopped by {failure.signal_name()}; "
                f"the other rank(s) were stopped too",
                f"continue from the last checkpoint: specc run --resume {run_dir} --nproc {nproc}"
                if run_dir and (Path(run_dir) / CHECKPOINT).is_file()
                else "start it again (no epoch had finished)",
            ) from None
        finally:
            os.environ.pop(LAUNCH_INFO_ENV, None)
            os.environ.pop(LAUNCHED_ENV, None)
    return 0
