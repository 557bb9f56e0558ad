"""The `tensorflow` target: a Keras model trained by a hand-written loop, `tf.GradientTape`
inside a `tf.function` train step, as the Keras book's "training from scratch" chapter does.

The model, its initialisers, losses and optimizers are the `keras` target's templates
(`templates/keras/`: the same Keras 3 layers, channels-last inside with the same
transposes); only the loop differs (`templates/tensorflow/train.py.j2`). So this module
holds only the differences: the template, the names it writes, and the capability table,
which is the Keras one minus what a hand-written loop can do (skip the last batch) plus
`compile on` (XLA: `tf.function(jit_compile=True)`).
"""

from __future__ import annotations

from specc.emit.lower import channels_last_input
from specc.emit.target import Target, words
from specc.emit.targets.keras import TARGET as KERAS
from specc.lowering.layout import channels_last

MODULE_NAMES = words(
    """
    INPUTS COLUMNS records inputs_of inputs
    IGNORE kept SENTENCES SUBJECTS VERBS OBJECTS PLACES LOWERCASE collections re tokenize build_vocabulary
    TARGETS PREDICTIONS OUTPUTS targets_of named_losses split
    pickle tarfile CIFAR_BATCHES PICKLE_GLOBALS ArraysOnly read_python_batch read_binary_batch
    read_cifar_folder extract
    argparse csv gzip zlib json math os sys keras np tf layers ops
    EPOCHS BATCH_SIZE LR SEED OUT SHUFFLE DROP_LAST INPUT_SHAPE CLASSES VALIDATION_SPLIT
    TEST_SPLIT SAMPLES FEATURES NOISE DATA_SEED DATA_FILE DATA_PATH TARGET_COLUMN FEATURE_COLUMNS
    X_NAME Y_NAME MNIST_FILES EARLY_STOPPING PATIENCE MIN_DELTA RESTORE_BEST CHECKPOINT STACKED
    INIT_FROM INIT_STRICT VOCAB DATA_VOCAB LENGTH check_ids mask swap_gates gru_neutral gru_keras PositionEmbedding
    SinusoidalPositions LastStep
    LSTMCell SelfAttention TransformerEncoder recurrent_kind lstm_neutral lstm_keras attention_neutral
    attention_keras transformer_neutral transformer_keras
    parse_args whole_number positive_number check_labels check_splits read_idx_files read_idx read_mnist_folder read_source hold_out transform load_data encode
    build_model SmoothedSparseCrossentropy SpecSGD SpecAdam SpecRMSprop SpecAdagrad predict ratio compute_metrics
    learning_rate neutral_weights load_initial_weights save_weights evaluate improved main
    augment Plateau IMAGE_SHAPE read_weights transfer
    TOKENIZE TEXT_COLUMN read_vocabulary write_vocabulary
    find_imdb read_array pad_pre io zipfile TOKEN_IDS class_folders read_split tokens
    build_vocabulary encode_texts collections re LOWERCASE
    """
)

# A hand-written loop batches itself, and XLA is one flag of tf.function.
HANDLED_BY_THE_LOOP = ("drop_last", "compile.on")

TARGET = Target(
    name="tensorflow",
    framework="TensorFlow",
    template="tensorflow/train.py.j2",
    weights_file="model.weights.h5",
    reserved=MODULE_NAMES,
    layout=channels_last,
    rewrites=(channels_last_input,),
    input_var=KERAS.input_var,
    unsupported={k: v for k, v in KERAS.unsupported.items() if k not in HANDLED_BY_THE_LOOP},
    requires=("tensorflow", "keras"),
    macros="keras",
    dataset_helper="keras.datasets",
    device_help="auto, cpu or gpu",
    custom_optimizer=KERAS.custom_optimizer,
)
