"""The `keras` target: `keras.Sequential` + `compile` + `fit` with callbacks (Keras 3).

Runs on Keras 3 with any backend (`KERAS_BACKEND=torch` too). Only what differs from
other targets lives here: the channels-last rewrite, the names the template owns, and
what the script cannot express.
"""

from __future__ import annotations

from specc.emit.lower import ScriptPlan, channels_last_input
from specc.emit.target import (
    IGNORED_TARGETS,
    IMAGE_FILES,
    Target,
    words,
)
from specc.ir import optimizers as O
from specc.lowering.layout import channels_last

MODULE_NAMES = words(
    """
    INPUTS COLUMNS records inputs_of inputs
    IGNORE kept Perplexity SENTENCES SUBJECTS VERBS OBJECTS PLACES LOWERCASE collections re tokenize build_vocabulary
    TARGETS PREDICTIONS OUTPUTS targets_of named_losses split
    pickle tarfile CIFAR_BATCHES PICKLE_GLOBALS ArraysOnly read_python_batch read_binary_batch
    read_cifar_folder extract
    argparse contextlib csv gzip zlib json math os sys keras np layers ops
    EPOCHS BATCH_SIZE LR SEED OUT SHUFFLE DROP_LAST INPUT_SHAPE CLASSES VALIDATION_SPLIT
    TEST_SPLIT SAMPLES FEATURES NOISE DATA_SEED DATA_FILE DATA_PATH TARGET_COLUMN FEATURE_COLUMNS
    X_NAME Y_NAME MNIST_FILES EARLY_STOPPING PATIENCE MIN_DELTA RESTORE_BEST CHECKPOINT STACKED
    INIT_FROM INIT_STRICT VOCAB DATA_VOCAB LENGTH check_ids mask swap_gates gru_neutral gru_keras PositionEmbedding
    SinusoidalPositions LastStep
    LSTMCell SelfAttention TransformerEncoder recurrent_kind lstm_neutral lstm_keras attention_neutral
    attention_keras transformer_neutral transformer_keras
    parse_args whole_number positive_number check_labels check_splits read_idx_files read_idx read_mnist_folder read_source hold_out transform load_data encode
    build_model use_device SmoothedSparseCrossentropy SpecSGD SpecAdam SpecRMSprop SpecAdagrad MacroScore learning_rate Plateau IMAGE_SHAPE augment AugmentedBatches
    StepLearningRate neutral_weights load_initial_weights save_weights main read_weights transfer
    TOKENIZE TEXT_COLUMN read_vocabulary write_vocabulary
    find_imdb read_array pad_pre io zipfile TOKEN_IDS class_folders read_split tokens
    build_vocabulary encode_texts collections re LOWERCASE
    """
)


def optimizer_class(p: ScriptPlan) -> str | None:
    """The optimizer class a Keras script defines, when keras.optimizers' own would change
    the spec's update (docs/semantics.md#optimizers), else None (the Keras class is used).

    - SGD: Keras keeps the velocity as -lr*g, so momentum differs once the rate moves;
    - coupled weight decay (`weight_decay` of sgd/adam/rmsprop/adagrad: g += wd * w) has no
      Keras class;
    - RMSprop and Adagrad: Keras divides by sqrt(a + eps), the spec by sqrt(a) + eps, a much
      larger step where gradients are tiny;
    - Adam/AdamW: Keras adds eps to sqrt(v) before the bias correction ("epsilon hat"),
      a larger effective eps early on: the spec's update needs its own class (measured in
      tests/emit/test_optimizer_parity.py).
    """
    o = p.train.optimizer
    coupled = not o.decoupled_weight_decay and bool(o.weight_decay)
    if o.kind == "sgd":
        return "sgd" if coupled or (o.momentum and p.changing_lr) else None
    if isinstance(o, O.Adam):  # AdamW too
        return "adam"
    return str(o.kind)


TARGET = Target(
    name="keras",
    framework="Keras 3",
    template="keras/train.py.j2",
    weights_file="model.weights.h5",
    reserved=MODULE_NAMES,
    layout=channels_last,
    rewrites=(channels_last_input,),
    input_var="inputs",
    unsupported={
        **IMAGE_FILES,
        **IGNORED_TARGETS,
        "loss_ignore.smoothing": "Keras's ignore_class has no label smoothing; use `specc run`",
        "frozen_batchnorm": "a frozen Keras BatchNormalization runs in inference mode "
        "(the spec: batch statistics); use `specc run`",
        "drop_last": "model.fit always trains on the last, smaller batch",
        "amsgrad": "not emitted yet; use `specc run`",
        "rmsprop.centered": "not emitted yet; use `specc run`",
        "rmsprop.momentum": "not emitted yet; use `specc run`",
        "clip_both": "Keras optimizers take one kind of clipping at a time",
        "precision.bf16": "mixed precision is not emitted yet; use `specc run`",
        "precision.fp16": "mixed precision is not emitted yet; use `specc run`",
        "compile.on": "remove `compile on`: Keras compiles the train step itself",
    },
    requires=("keras",),
    macros="keras",
    dataset_helper="keras.datasets",
    device_help="auto, or a keras.device name: cpu, gpu:0",
    stdlib=("contextlib",),
    custom_optimizer=optimizer_class,
)
