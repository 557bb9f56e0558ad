// The specc VS Code extension: .nn highlighting comes from the TextMate grammar in
// syntaxes/; everything else (diagnostics, completion, hover, inlay hints, quick fixes,
// formatting, outline, go-to-definition) comes from `specc lsp`, started over stdio.
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

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
  context.subscriptions.push({ dispose: () => client && client.stop() });
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
