"""`specc lsp`: start the language server (editors run this; see docs/editors.md)."""

from __future__ import annotations

import logging

import click


@click.command()
@click.option(
    "--stdio",
    is_flag=True,
    help="Talk over standard input/output (the default; accepted for editors that pass it).",
)
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False),
    help="Write the server's log here (stdout is the protocol).",
)
def lsp(stdio: bool, log_file: str | None) -> None:
    """Run the specc language server over stdio."""
    if log_file:
        logging.basicConfig(filename=log_file, level=logging.INFO)
    from specc.lsp.server import serve

    serve()


COMMANDS = [lsp]
