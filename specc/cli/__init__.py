"""The `specc` command line. Thin: each command parses flags and calls the public API.

Exit codes everywhere: 0 fine, 1 problems found (or the job failed), 2 usage error.
Commands live one group per module; this file only assembles them.
"""

from __future__ import annotations

import click

from specc import __version__
from specc.cli import inspect


class _Commands(click.Group):
    """Lists each command with its whole first paragraph (click's default cuts it at ~45
    characters, or at the first `e.g.`), wrapped under the command name."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            first = (command.short_help or command.help or "").strip().split("\n\n")[0]
            rows.append((name, " ".join(first.split())))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(
    cls=_Commands,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="specc")
def main() -> None:
    """Declare a neural network and its training in a few lines; check it, run it, emit it."""


for command in inspect.COMMANDS:
    main.add_command(command)


def _add_optional(module: str) -> None:
    """Commands of other modules register themselves here as they land."""
    import importlib

    mod = importlib.import_module(f"specc.cli.{module}")
    for command in getattr(mod, "COMMANDS", []):
        main.add_command(command)


for _module in ("fmt", "run", "emit", "lsp", "sweep", "report", "parity"):
    try:
        _add_optional(_module)
    except ModuleNotFoundError as err:
        if err.name != f"specc.cli.{_module}":
            raise
