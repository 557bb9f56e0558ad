// The specc VS Code extension: .nn highlighting comes from the TextMate grammar in
// syntaxes/ (refined by the server's semantic tokens); everything else (diagnostics,
// completion, hover, signature help, inlay hints, quick fixes and fix-all, formatting,
// outline, go-to-definition, references, rename, folding, links, code lenses) comes from
// `specc lsp`, started over stdio.
//
// The code lenses above each model run the server's commands (specc.check,
// specc.summary, specc.emit; vscode-languageclient registers them). The palette commands
// below run the same ones on the active file.
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

async function pickModel(editor) {
  const symbols =
    (await vscode.commands.executeCommand(
      "vscode.executeDocumentSymbolProvider",
      editor.document.uri
    )) || [];
  const models = symbols.filter((s) => s.kind === vscode.SymbolKind.Class).map((s) => s.name);
  if (models.length <= 1) {
    return models[0];
  }
  return vscode.window.showQuickPick(models, { placeHolder: "Which model?" });
}

// Palette command -> the server command it runs, and the arguments after the file's URI.
const PALETTE = {
  "specc.checkFile": { command: "specc.check", args: async () => [] },
  "specc.summaryModel": {
    command: "specc.summary",
    args: async (editor) => {
      const model = await pickModel(editor);
      return model ? [model] : undefined;
    },
  },
  "specc.emitModel": {
    command: "specc.emit",
    args: async (editor) => {
      const model = await pickModel(editor);
      return model ? [model, "pytorch"] : undefined;
    },
  },
};

function registerPalette(context) {
  for (const [name, { command, args }] of Object.entries(PALETTE)) {
    const run = async () => {
      const editor = vscode.window.activeTextEditor;
      if (!editor || editor.document.languageId !== "specc") {
        vscode.window.showWarningMessage("specc: open a .nn file first");
        return;
      }
      const rest = await args(editor);
      if (rest === undefined) {
        return;
      }
      await editor.document.save();
      const uri = editor.document.uri.toString();
      // The server shows the outcome itself (a message, and the written script).
      return client.sendRequest("workspace/executeCommand", { command, arguments: [uri, ...rest] });
    };
    context.subscriptions.push(vscode.commands.registerCommand(name, run));
  }
}

function activate(context) {
  const config = vscode.workspace.getConfiguration("specc");
  const command = config.get("server.command", "specc");
  const args = config.get("server.args", ["lsp"]);
  const serverOptions = { command, args, transport: TransportKind.stdio };
  const clientOptions = {
    documentSelector: [{ language: "specc" }],
    outputChannelName: "specc language server",
  };
  client = new LanguageClient("specc", "specc language server", serverOptions, clientOptions);
  client.start().catch((err) => {
    vscode.window.showErrorMessage(
      `specc: could not start \`${command} ${args.join(" ")}\` (${err.message}). ` +
        "Install specc (pip install -e .) or set specc.server.command to its path."
    );
  });
  registerPalette(context);
  context.subscriptions.push({ dispose: () => client && client.stop() });
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate, PALETTE };
