"""The specc language server (`specc lsp`): diagnostics, completion, hover, inlay hints,
quick fixes, formatting, outline and go-to-definition, all driven by
`specc.analysis.analyze`. `specc.lsp.server` holds the pygls wiring; the other modules
compute one feature each from a document's analysis and never talk to the client.
"""
