"""The language features of `specc lsp`, registered on a server: each handler asks the
server for the document's current analysis and calls one small module. The modules are
imported on a handler's first call (and right after `initialize` is answered), so
registering them at start-up costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from specc.lsp.legend import LEGEND
from specc.lsp.server import SpeccServer

if TYPE_CHECKING:
    from specc.lsp.documents import DocState

COMMANDS = ["specc.check", "specc.summary", "specc.emit"]


def register(server: SpeccServer) -> None:
    _reading(server)
    _editing(server)
    _navigation(server)
    _commands(server)

    @server.feature(types.INITIALIZED)
    def warm_up(ls: SpeccServer, params: types.InitializedParams) -> None:
        """Import the checker now, after `initialize` was answered, not on the first edit."""
        from specc.lsp import actions, completion, hover, navigation, signature, symbols, tokens  # noqa: F401  # noqa: F401

        ls.documents  # noqa: B018  (creates the store, importing the analysis)


def _reading(server: SpeccServer) -> None:
    """Hover, completion, signature help, inlay hints, outline, semantic tokens."""

    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=["=", " "])
    )
    async def complete(ls: SpeccServer, params: types.CompletionParams) -> types.CompletionList:
        from specc.lsp import completion

        state = await ls.state(params.text_document.uri)
        items = completion.complete(state, params.position) if state else []
        return types.CompletionList(is_incomplete=False, items=items)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def on_hover(ls: SpeccServer, params: types.HoverParams) -> types.Hover | None:
        from specc.lsp import hover

        state = await ls.state(params.text_document.uri)
        if state is None:
            return None
        found = hover.hover(state, params.position)
        if found is None and state.parsed is not None:
            found = hover.hover(state.parsed, params.position)
        return found

    @server.feature(
        types.TEXT_DOCUMENT_SIGNATURE_HELP,
        types.SignatureHelpOptions(trigger_characters=[" "], retrigger_characters=["="]),
    )
    async def signature_help(
        ls: SpeccServer, params: types.SignatureHelpParams
    ) -> types.SignatureHelp | None:
        from specc.lsp import signature

        state = await ls.state(params.text_document.uri)
        return signature.signature_help(state, params.position) if state else None

    @server.feature(types.TEXT_DOCUMENT_INLAY_HINT)
    async def inlay(ls: SpeccServer, params: types.InlayHintParams) -> list[types.InlayHint]:
        from specc.lsp import symbols

        state = await ls.state(params.text_document.uri)
        return symbols.inlay_hints(state.shapes, params.range) if state else []

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    async def outline(
        ls: SpeccServer, params: types.DocumentSymbolParams
    ) -> list[types.DocumentSymbol]:
        from specc.lsp import symbols

        state = await ls.state(params.text_document.uri)
        return symbols.document_symbols(state.outline) if state else []

    @server.feature(
        types.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL,
        types.SemanticTokensRegistrationOptions(legend=LEGEND, full=True, range=True),
    )
    async def semantic_tokens(
        ls: SpeccServer, params: types.SemanticTokensParams
    ) -> types.SemanticTokens:
        state = await ls.state(params.text_document.uri)
        return types.SemanticTokens(data=state.tokens() if state else [])

    @server.feature(types.TEXT_DOCUMENT_SEMANTIC_TOKENS_RANGE)
    async def semantic_tokens_range(
        ls: SpeccServer, params: types.SemanticTokensRangeParams
    ) -> types.SemanticTokens:
        state = await ls.state(params.text_document.uri)
        if state is None:
            return types.SemanticTokens(data=[])
        start, end = state.index.offset(params.range.start), state.index.offset(params.range.end)
        return types.SemanticTokens(data=state.tokens(start, end))


def _editing(server: SpeccServer) -> None:
    """Quick fixes, fix-all and formatting."""

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[types.CodeActionKind.QuickFix, types.CodeActionKind.SourceFixAll]
        ),
    )
    async def code_action(
        ls: SpeccServer, params: types.CodeActionParams
    ) -> list[types.CodeAction]:
        from specc.lsp import actions

        uri = params.text_document.uri
        state = await ls.state(uri)
        if state is None:
            return []
        only = params.context.only
        found: list[types.CodeAction] = []
        if actions.wanted(only, types.CodeActionKind.QuickFix):
            found.extend(actions.code_actions(state, uri, params.range))
        if only is not None and actions.wanted(only, actions.FIX_ALL):  # asked for by name
            found.extend(filter(None, [actions.fix_all(state, uri)]))
        return found

    @server.feature(types.TEXT_DOCUMENT_FORMATTING)
    async def formatting(
        ls: SpeccServer, params: types.DocumentFormattingParams
    ) -> list[types.TextEdit] | None:
        state = await ls.state(params.text_document.uri)
        return format_edits(ls, state) if state else None


def _navigation(server: SpeccServer) -> None:
    """Definition, references, highlights, rename, folding and links."""

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    async def definition(ls: SpeccServer, params: types.DefinitionParams) -> types.Location | None:
        from specc.lsp import symbols

        uri = params.text_document.uri
        state = await ls.state(uri)
        return symbols.definition(state, params.position, uri) if state else None

    @server.feature(types.TEXT_DOCUMENT_REFERENCES)
    async def references(ls: SpeccServer, params: types.ReferenceParams) -> list[types.Location]:
        from specc.lsp import navigation

        uri = params.text_document.uri
        state = await ls.state(uri)
        declared = params.context.include_declaration
        return navigation.references(state, params.position, uri, declared) if state else []

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_HIGHLIGHT)
    async def highlight(
        ls: SpeccServer, params: types.DocumentHighlightParams
    ) -> list[types.DocumentHighlight]:
        from specc.lsp import navigation

        state = await ls.state(params.text_document.uri)
        return navigation.highlights(state, params.position) if state else []

    @server.feature(types.TEXT_DOCUMENT_PREPARE_RENAME)
    async def prepare_rename(
        ls: SpeccServer, params: types.PrepareRenameParams
    ) -> types.Range | None:
        from specc.lsp import navigation

        state = await ls.state(params.text_document.uri)
        return navigation.prepare_rename(state, params.position) if state else None

    @server.feature(types.TEXT_DOCUMENT_RENAME)
    async def rename(ls: SpeccServer, params: types.RenameParams) -> types.WorkspaceEdit | None:
        from specc.lsp import navigation

        uri = params.text_document.uri
        state = await ls.state(uri)
        if state is None:
            return None
        try:
            return navigation.rename(state, params.position, params.new_name, uri)
        except navigation.RenameError as err:
            raise JsonRpcInvalidParams(str(err)) from None

    @server.feature(types.TEXT_DOCUMENT_FOLDING_RANGE)
    async def folding(
        ls: SpeccServer, params: types.FoldingRangeParams
    ) -> list[types.FoldingRange]:
        from specc.lsp import navigation

        state = await ls.state(params.text_document.uri)
        return navigation.folding_ranges(state) if state else []

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_LINK)
    async def links(ls: SpeccServer, params: types.DocumentLinkParams) -> list[types.DocumentLink]:
        from specc.lsp import navigation

        uri = params.text_document.uri
        state = await ls.state(uri)
        return navigation.document_links(state, uri) if state else []


def _commands(server: SpeccServer) -> None:
    """Code lenses over each model, and the commands they run."""

    @server.feature(types.TEXT_DOCUMENT_CODE_LENS)
    async def lenses(ls: SpeccServer, params: types.CodeLensParams) -> list[types.CodeLens]:
        from specc.lsp import commands

        uri = params.text_document.uri
        state = await ls.state(uri)
        return commands.code_lenses(state, uri) if state else []

    for name in COMMANDS:
        server.command(name)(_command_handler(name))


def _command_handler(name: str) -> Any:
    async def handler(ls: SpeccServer, *args: Any) -> dict[str, Any]:
        from specc.lsp import commands

        if not args or not isinstance(args[0], str):
            raise JsonRpcInvalidParams(f"{name} needs the document's URI as first argument")
        state = await ls.state(args[0])
        if state is None:
            raise JsonRpcInvalidParams(f"{name}: {args[0]} is not open")
        try:
            result = commands.run(state, name, list(args[1:]))
        except commands.CommandError as err:
            ls.window_show_message(
                types.ShowMessageParams(type=types.MessageType.Error, message=str(err))
            )
            raise JsonRpcInvalidParams(str(err)) from None
        ls.window_show_message(
            types.ShowMessageParams(type=types.MessageType.Info, message=result["message"])
        )
        if "table" in result:
            ls.window_log_message(
                types.LogMessageParams(type=types.MessageType.Info, message=result["table"])
            )
        target = commands.opened_path(result)
        if target is not None:
            ls.window_show_document(types.ShowDocumentParams(uri=target, take_focus=True))
        return result

    return handler


def format_edits(ls: SpeccServer, state: DocState) -> list[types.TextEdit] | None:
    """The `specc fmt` layout as one whole-document edit; nothing while there are syntax
    errors (the formatter refuses to guess), with a message saying why."""
    from specc.fmt import FormatError, format_text

    text = state.analysis.text
    try:
        formatted = format_text(text)
    except FormatError as err:
        message = f"specc: {err}"
    except RuntimeError:  # the formatter's self-check refused its own output
        message = (
            "specc: this file cannot be formatted safely yet (the result would not mean the "
            "same, often because a line is unfinished); nothing was changed"
        )
    else:
        if formatted == text:
            return []
        whole = types.Range(start=state.index.position(0), end=state.index.position(len(text)))
        return [types.TextEdit(range=whole, new_text=formatted)]
    ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning, message=message))
    return None
