"""Every diagnostic code, with the long explanation `specc explain CODE` prints.

Codes are stable: E1xx syntax, E2xx names and structure, E3xx values, E4xx shapes and
data fit, E6xx backend/target capabilities, W5xx lints (warnings).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Code:
    code: str
    title: str
    explanation: str


_CODES = [
    Code(
        "E100",
        "syntax error",
        """
A token appeared where the grammar does not allow it. A spec is made of statements, one
per line: a word, then values, then `key=value` arguments; a block header ends with `{`
and its block closes with `}` on a later line.

    dense 512 relu            # ok
    dense = 512               # error: `=` needs a name on its left, inside a statement
""",
    ),
    Code(
        "E101",
        "unclosed block",
        """
The file ended while a block was still open. Every `{` needs a matching `}`.

    model mlp {
        dense 10
    }                         # <- this was missing
""",
    ),
    Code(
        "E102",
        "unexpected character",
        """
A character that starts no token: names are letters, digits and `_`; numbers look like
`512`, `0.5`, `1e-3`, `1/255`; shapes like `1x28x28`; text goes in double quotes,
closed on the same line: `init from "runs/mnist_mlp"`.
""",
    ),
    Code(
        "E103",
        "file too large or too deep",
        """
Specs are limited to 1,000,000 characters, about 40,000 words and symbols, and 64
levels of nested blocks, so the checker answers any input within seconds. A real spec is a few dozen lines; data belongs in data files
(`data csv "file.csv"`), and `repeat N { ... }` stacks layers without deep nesting.
""",
    ),
    Code(
        "E104",
        "not a text file",
        """
The file holds NUL bytes or is not valid UTF-8, so it is not a spec. Check the file name,
or re-save it as UTF-8 text.
""",
    ),
    Code(
        "E200",
        "unknown block",
        """
At the top level a spec has `model NAME { ... }` (one or more), one `data SOURCE { ... }`
and one `train { ... }` block.
""",
    ),
    Code(
        "E201",
        "unknown statement or kind",
        """
The word does not name a statement valid in this block, or a kind of loss, optimizer,
schedule or data source. The help line suggests the closest known word; `specc schema`
lists them all. Keras and PyTorch spellings are both accepted (`dense`/`linear`,
`sparse_categorical_crossentropy`/`cross_entropy`).
""",
    ),
    Code(
        "E202",
        "unknown argument",
        """
The statement has no argument of that name. The help line suggests the closest one or
lists them:

    dense 10 activaton=relu   # error: did you mean `activation`?
""",
    ),
    Code(
        "E203",
        "given twice",
        """
An argument, a statement of a block, a model name or a layer name appears twice. Model
and layer names must be unique (saved weights are keyed by layer name).
""",
    ),
    Code(
        "E204",
        "missing block",
        """
A spec needs at least one `model` block, a `data` block and a `train` block:

    model mlp { input 28x28; flatten; dense 10 softmax }
    data mnist_sample { scale 1/255 }
    train { loss sparse_categorical_crossentropy; epochs 1 }
""",
    ),
    Code(
        "E205",
        "unknown model",
        """
`train { model NAME }` (or `--model NAME`) names a model that the file does not define.
""",
    ),
    Code(
        "E206",
        "unexpected block",
        """
Only `model`, `data`, `train` and `repeat` take a `{ ... }` block.
""",
    ),
    Code(
        "E207",
        "unknown value name",
        """
A merge (`add`, `concat`, `multiply`, `average`) or a branch's `from=` names a value that
is not defined before it. Values are the model's inputs, named branches and layers with
`name=`; a name refers to an earlier statement only, so a model cannot loop.

    branch img from=image { conv2d 32 3 relu; global_avgpool }
    concat img tab            # error: no `tab` yet; define `branch tab ...` above
""",
    ),
    Code(
        "E208",
        "no current tensor",
        """
A model with several inputs has no single "current tensor" until they are merged, so a
layer at model level does not know what to read. Start from one input in a branch, or
merge the inputs first:

    input image 1x28x28
    input meta 12
    branch img from=image { conv2d 32 3 relu; global_avgpool }
    branch tab from=meta { dense 32 relu }
    concat img tab            # now there is one current tensor
    dense 10
""",
    ),
    Code(
        "E209",
        "graph structure",
        """
A graph construct is incomplete: `parallel` needs at least two branches, a merge needs
the names of what it merges, and a model with several inputs must bring them together
before its output.
""",
    ),
    Code(
        "E210",
        "output blocks",
        """
A model with `output NAME { ... }` blocks returns each block's value as a named output.
Every output block has a name and at least one layer of its own, sits at the model's top
level (not inside `repeat`, `residual` or a branch), and the model ends with them: a
layer after the first output block would feed no output. Nothing may read an output's
value (its final softmax/sigmoid is split off for its loss); start from the layer before.

    dense 64 relu
    output digit { dense 10 softmax }
    output big { dense 1 sigmoid }
    dense 5                   # error: after the outputs; move it above or into one
""",
    ),
    Code(
        "E211",
        "output without a loss",
        """
A model with several outputs trains each with its own loss, written per output in the
`train` block (Keras' `loss={...}`, `loss_weights`, `metrics={...}`):

    train {
        output digit { loss sparse_categorical_crossentropy; metrics accuracy }
        output big { loss binary_crossentropy; weight 0.5 }
    }

Every output needs an entry with a `loss`, every entry must name an output of the
model, and a plain `loss` is refused because it does not say which output it trains.
""",
    ),
    Code(
        "E300",
        "wrong type",
        """
The value has the wrong type for the argument: a whole number where one is needed
(`units`, `epochs`), a number (`lr`), `true`/`false`, a name, a shape (`28x28`), text in
quotes, or a list in brackets (`[30, 60]`).
""",
    ),
    Code(
        "E301",
        "value out of range",
        """
The value has the right type but is outside the allowed range: units >= 1, dropout rate
in [0, 1), learning rate > 0, momentum in [0, 1), and so on. The message names the limit.
""",
    ),
    Code(
        "E302",
        "missing value",
        """
A required argument or kind is missing: `dense` needs its units (`dense 128`), `loss`
needs its kind (`loss mse`), `warmup` a length (`warmup 2` or `warmup steps=500`).
""",
    ),
    Code(
        "E303",
        "too many values",
        """
More positional values were written than the statement takes. Name the extra ones:

    conv2d 32 3 2             # error
    conv2d 32 3 stride=2      # ok
""",
    ),
    Code(
        "E304",
        "invalid search space",
        """
A search space must describe a real range: `uniform(low, high)` and `loguniform(low,
high)` need low < high, a log scale needs low > 0, and `choice(...)` distinct values.
""",
    ),
    Code(
        "E305",
        "invalid choice",
        """
The word is not one of the values this argument accepts (an activation, an initialiser,
a padding mode, ...). The help line suggests the closest.
""",
    ),
    Code(
        "E400",
        "data does not fit the model",
        """
The model's `input` has a different number of values than one example of the data.
MNIST-like sources give 1x28x28 images; `input 28x28` or `input 1x28x28` both fit (the
data is reshaped to the input shape), `input 784` fits too, `input 32x32` does not.
CIFAR-10 gives 3x32x32 colour images, channels first: `input 3x32x32`.
""",
    ),
    Code(
        "E401",
        "model without input",
        """
Every model starts with `input SHAPE`: the shape of one example without the batch axis,
channels first for images (`input 1x28x28`).
""",
    ),
    Code(
        "E402",
        "layer needs a different input rank",
        """
A layer got an input with the wrong number of axes: `dense` needs a flat vector (add
`flatten` after convolutions) or a token sequence LxD (where it applies to every step);
`conv2d` and the pools need a CxHxW image (write
`input 1x28x28`, not `input 28x28`, for a convolutional model).
""",
    ),
    Code(
        "E403",
        "window does not fit",
        """
A convolution or pooling window is larger than its (padded) input, so the output would
be empty. Use a smaller window, padding, or fewer downsampling layers.
""",
    ),
    Code(
        "E404",
        "reshape changes the size",
        """
`reshape` must keep the number of values: 784 values can become 1x28x28 or 28x28, not
32x32.
""",
    ),
    Code(
        "E405",
        "model too large",
        """
The model has more than 2^31-1 parameters, more than the frameworks address in one
tensor and far more than a spec of this kind should train. Make the largest layer smaller.
""",
    ),
    Code(
        "E406",
        "targets do not fit the loss",
        """
`categorical_crossentropy` trains against one-hot rows: add `one_hot` to the data block
(or use `sparse_categorical_crossentropy` with class numbers). `one_hot` with any other
loss is an error too.

A model with several named outputs needs one target per output: an .npz with arrays
`y_<output>`, or `data synthetic` (docs/data.md#several-outputs); other sources give one
target per example, and `one_hot` cannot say which output's targets it encodes.
""",
    ),
    Code(
        "E407",
        "loss does not fit the model's output",
        """
The loss cannot compare the model's output with the data's targets. `binary_crossentropy`
scores each output against one 0/1 target, so with one target per example the model
must end in 1 output (`dense 1 sigmoid`); for one-of-N classes use
`sparse_categorical_crossentropy` with one output per class.
""",
    ),
    Code(
        "E409",
        "data does not fit the model's inputs",
        """
A model with several inputs (`input image 1x28x28`, `input meta 12`) reads one array per
input, by name: an .npz holds arrays `image`, `meta` and `y` (plus `image_test`,
`meta_test`, `y_test` for its own test split); a CSV names each input's columns in the
data block, one line each:

    data csv "patients.csv" target=outcome {
        columns meta [age, weight, dose]
        columns image [p0, p1, p2, p3]
        scale 1/255 input=image          # transforms say which input they change
    }

Image sets (mnist, cifar10) and `synthetic` give one array, so they cannot feed such a
model; `augment` is not applied to several inputs yet. A model with one input takes no
`columns` lines and no `input=` naming another input.
""",
    ),
    Code(
        "E408",
        "merged shapes do not fit",
        """
`add`, `multiply`, `average` and a `residual` block need operands of one shape; `concat`
joins the channel/feature axis, so every other axis must agree. A residual body that
changes the shape (more channels, a stride) needs a shortcut that makes the same change:

    residual {
        conv2d 128 3 stride=2 padding=1; batchnorm; relu
        conv2d 128 3 padding=same; batchnorm
        shortcut { conv2d 128 1 stride=2; batchnorm }
    }
""",
    ),
    Code(
        "E410",
        "token ids where numbers are needed, or the reverse",
        """
`input 200 int` declares token ids: integers that index a vocabulary. Only an
`embedding` reads them, turning each id into a learned vector, so it must be the first
layer of such a model; every other layer needs numbers. An `embedding` after a float input
(or after another layer) is refused for the same reason. The data must hold integer
arrays for an `int` input (docs/semantics.md#sequences).

    input 200 int
    embedding 20000 32 pad=0  # (200,) ids -> 200x32 vectors
    global_avgpool            # -> 32
""",
    ),
    Code(
        "E411",
        "per-step predictions and targets do not fit",
        """
A model whose last layer works on a token sequence (`dense V` after `lstm H
sequences=true`) predicts one of V classes at every step: an LxV output. It trains with
`sparse_categorical_crossentropy` against one class id per step, which a text corpus
gives (`data corpus "tiny.txt"`, `data synthetic_corpus`: each target is the next token).
A corpus's next-token targets need such a model, and a source with one target per example
(a label) needs one prediction per example (docs/semantics.md#per-token).

    input 64 int
    embedding 64 32
    lstm 128 sequences=true   # 64x128
    dense 64                  # 64x64: the next character's scores at every step
""",
    ),
    Code(
        "E600",
        "not supported by this backend, target or export format",
        """
The spec is valid, but the chosen backend (`specc check --backend B`), emit target
(`specc check --target T`) or export format (`specc export RUN --format F`) cannot express
this feature; `specc targets` prints what each backend and target supports, and the help
line says why and what to use instead (another format, another backend). Nothing is
dropped silently.
""",
    ),
    Code(
        "E601",
        "search space where a number is needed",
        """
The spec still has a search space (`loguniform(...)`, `choice(...)`) but the command
needs concrete numbers. Use `specc sweep` to search, or write a number.
""",
    ),
    Code(
        "E602",
        "batch does not split over the ranks",
        """
A distributed run (`torchrun --nproc-per-node N`, `specc run --nproc N`, N TF_CONFIG
workers) keeps `batch B` as the global batch, the single-process meaning: each of the N
ranks takes B / N examples per step. B must be a multiple of N, and every step's batch must be full (the training set
a multiple of B, or `drop_last`). Change the batch size or the number of processes;
docs/distributed.md.
""",
    ),
    Code(
        "E603",
        "`init from` a run with other token ids",
        """
A run trained on text (`text_folder`, `corpus`, `synthetic_corpus`, a CSV `text=` column)
saves its vocabulary as vocab.json: token id i means `tokens[i]`, and its embedding's row
i was trained for that token. A spec that starts from that run (`init from "runs/lm"`)
encodes its own text with the same vocabulary, so every id keeps its meaning. That needs
the same `tokenize` mode (`words`/`chars`) and `lowercase`, and a `vocab` at least as
large as the saved one; otherwise the ids would mean other tokens and the run is refused.
A run without vocab.json (token ids from an .npz) gives nothing to reuse.
""",
    ),
    Code(
        "W500",
        "softmax applied twice",
        """
Two softmax (or log_softmax) activations in a row: the second flattens the probabilities
towards uniform and slows learning. Keep only the last one.
""",
    ),
    Code(
        "W501",
        "sigmoid output with a multi-class loss",
        """
A sigmoid output treats each class independently; with (sparse) categorical
cross-entropy the classes are exclusive. Use `softmax`, or `binary_crossentropy` for
multi-label targets.
""",
    ),
    Code(
        "W502",
        "output size does not match the classes",
        """
The last layer's units differ from the number of classes in the data (or from 1 for
binary cross-entropy): some classes can never be predicted, or labels fall outside the
outputs.
""",
    ),
    Code(
        "W503",
        "unusual learning rate",
        """
The learning rate is outside 1e-6..1. Such rates usually diverge (too large) or do not
learn (too small). Typical: 1e-3 for adam/rmsprop, 1e-2..1e-1 for sgd.
""",
    ),
    Code(
        "W504",
        "loss does not fit the target",
        """
A classification loss with a real-valued target, or a regression loss with class labels.
""",
    ),
    Code(
        "W505",
        "output activation does not fit the loss",
        """
`nll` expects log-probabilities (end with `log_softmax`); cross-entropy expects logits or
a final `softmax`/`sigmoid` (fused into the loss, see docs/semantics.md); a softmax
before a regression loss squashes the outputs.
""",
    ),
    Code(
        "W506",
        "watched metric is not reported",
        """
`early_stopping`, `checkpoint` or `reduce_on_plateau` watch a metric that is never
computed: `val_*` metrics need `validation FRACTION` in the data block, and other
metrics must be listed in `metrics`.
""",
    ),
    Code(
        "W507",
        "unused input or branch",
        """
An input or a named branch is computed but nothing reads it: no merge names it and it is
not the model's output. Its weights would never learn. Merge it (`concat a b`) or remove
it.
""",
    ),
]

CODES: dict[str, Code] = {c.code: c for c in _CODES}


def explain(code: str) -> Code | None:
    return CODES.get(code.strip().upper())
