/**
 * Tree-sitter grammar for specc .nn specs (for Helix, Neovim and other tree-sitter
 * editors).
 *
 * It is a transcription of grammar/specc.lark, the whole syntax of a spec, and like it
 * knows only blocks, statements, comments and literals: which statements exist and what
 * their arguments mean is the IR's business (specc/ir/), so adding a layer never touches
 * this file. Node names follow the Lark rule names (statement, body, kwarg, number,
 * fraction, shape, string, word, list, call).
 *
 * After editing, regenerate src/ with tree-sitter CLI 0.22 or later:
 *     cd editors/tree-sitter-specc && tree-sitter generate --abi 14
 * (ABI 14 is what Helix 25.01 and later and Neovim 0.10 and later load.)
 */

module.exports = grammar({
  name: 'specc',

  // Newlines separate statements, so they are tokens, not extras.
  extras: $ => [/[ \t\f\r]/, $.comment],


  rules: {
    source_file: $ => seq(
      optional($._separator),
      optional(seq(
        $.statement,
        repeat(seq($._separator, $.statement)),
        optional($._separator),
      )),
    ),

    // `dense 512 relu`, `optimizer sgd lr=1e-2`, `model mlp { ... }`
    statement: $ => seq(
      field('name', $.identifier),
      repeat(field('argument', $._argument)),
      optional(field('body', $.body)),
    ),

    body: $ => seq(
      '{',
      optional($._separator),
      optional(seq(
        $.statement,
        repeat(seq($._separator, $.statement)),
        optional($._separator),
      )),
      '}',
    ),

    _argument: $ => choice($._value, $.kwarg),

    kwarg: $ => seq(field('key', $.identifier), '=', field('value', $._value)),

    _value: $ => choice(
      $.number,
      $.fraction,
      $.shape,
      $.string,
      alias($.identifier, $.word),
      $.list,
      $.call,
    ),

    // Inside brackets a newline is layout, not the end of the statement (as the Lark
    // parser's post-lexer treats it).
    list: $ => seq(
      '[',
      optional($._newlines),
      optional(seq(
        field('element', $._value),
        optional($._newlines),
        repeat(seq(',', optional($._newlines), field('element', $._value), optional($._newlines))),
        optional(seq(',', optional($._newlines))),
      )),
      ']',
    ),

    call: $ => seq(
      field('function', $.identifier),
      '(',
      optional($._newlines),
      optional(seq(
        field('argument', $._argument),
        optional($._newlines),
        repeat(seq(',', optional($._newlines), field('argument', $._argument), optional($._newlines))),
        optional(seq(',', optional($._newlines))),
      )),
      ')',
    ),

    // The lexer takes the longest match, so `28x28` is one shape (not 28 then x28),
    // `1/255` one fraction and `1e-3` one number, as in the Lark grammar.
    shape: _ => token(/\d+(x\d+)+/),
    fraction: _ => token(/[+-]?\d+\/\d+/),
    number: _ => token(/[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?/),
    string: _ => token(choice(
      /"([^"\\\n]|\\.)*"/,
      /'([^'\\\n]|\\.)*'/,
    )),
    identifier: _ => /[A-Za-z_][A-Za-z0-9_]*/,
    comment: _ => token(seq('#', /[^\n]*/)),

    _separator: $ => repeat1(choice($._newline, ';')),
    _newlines: $ => repeat1($._newline),
    _newline: _ => /\r?\n/,
  },
});
