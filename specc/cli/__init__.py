"""The `specc` command line. Thin: each command parses flags and calls the public API.

Exit codes everywhere: 0 fine, 1 problems found (or the job failed), 2 usage error.
Commands live one group per module; this file only assembles them.
"""

from __future__ import annotations

import click

from specc import __version__

# The commands that editors, hooks and users start most often, and the module each lives
# in: `specc lsp` then imports only the server (not the checker's command modules, which
# pull in the whole IR before the server could answer), `specc check` only its module.
# Every other name, and `--help`, loads all command modules.
_FAST = {"check": "check", "lsp": "lsp", "fmt": "fmt"}
_MODULES = (
    *("check", "fmt", "run", "predict", "export", "emit"),
    *("lsp", "sweep", "report", "parity"),
)


def _commands(module: str) -> list[click.Command]:
    """A command module's commands; [] for a module that is not there (yet)."""
    import importlib

    try:
        mod = importlib.import_module(f"specc.cli.{module}")
    except ModuleNotFoundError as err:
        if err.name != f"specc.cli.{module}":
            raise
        return []
    return list(getattr(mod, "COMMANDS", []))


class _LazyGroup(click.Group):
    """Imports a command's module only when that command runs (or help lists them), and
    lists each command with its whole first paragraph (click's default cuts it at ~45
    characters, or at the first `e.g.`)."""

    def _load(self, modules: tuple[str, ...]) -> None:
        for module in modules:
            for command in _commands(module):
                if command.name not in self.commands:
                    self.add_command(command)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        fast = _FAST.get(cmd_name)
        self._load((fast,) if fast else _MODULES)
        if cmd_name not in self.commands:
            self._load(_MODULES)
        return self.commands.get(cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load(_MODULES)
        return sorted(self.commands)

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
    cls=_LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="specc")
def main() -> None:
    """Declare a neural network and its training in a few lines; check it, run it, emit it."""
