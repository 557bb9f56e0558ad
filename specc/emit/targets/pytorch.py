"""The `pytorch` target: an `nn.Module` and the explicit loop of the PyTorch tutorial.

Only what differs from other targets lives here: the template, the names the template
and `nn.Module` own, and what PyTorch scripts cannot express yet.
"""

from __future__ import annotations

from specc.emit.target import IGNORED_TARGETS, IMAGE_FILES, Target, words

# Everything the template defines at module level, plus nn.Module's public attributes
# (a layer called `train` or `forward` would break the model: it gets renamed).
MODULE_NAMES = words(
    """
    INPUTS COLUMNS records inputs_of inputs
    IGNORE unreduced kept
    TARGETS PREDICTIONS OUTPUTS targets_of named_losses split
    pickle tarfile CIFAR_BATCHES PICKLE_GLOBALS ArraysOnly read_python_batch read_binary_batch
    read_cifar_folder extract
    argparse csv gzip zlib hashlib json math os sys urllib np torch nn
    EPOCHS BATCH_SIZE LR SEED SHUFFLE DROP_LAST INPUT_SHAPE CLASSES VALIDATION_SPLIT
    TEST_SPLIT SAMPLES FEATURES NOISE DATA_SEED DATA_FILE DATA_PATH TARGET_COLUMN FEATURE_COLUMNS
    X_NAME Y_NAME MNIST_FILES DOWNLOAD_URL DOWNLOAD_MD5 EARLY_STOPPING PATIENCE MIN_DELTA
    RESTORE_BEST CHECKPOINT INIT_FROM INIT_STRICT LAYER_NAMES
    parse_args whole_number positive_number check_labels check_splits read_idx_files read_idx read_mnist_folder download read_source hold_out transform load_data
    encode predict ratio compute_metrics learning_rate Plateau IMAGE_SHAPE augment AugmentedBatches load_initial_weights save_weights OUT
    neutral_weights read_weights transfer
    VOCAB DATA_VOCAB LENGTH check_ids mask causal unpadded sinusoidal_positions last_unpadded
    SENTENCES SUBJECTS VERBS OBJECTS PLACES LOWERCASE collections re tokenize
    find_imdb read_array pad_pre io zipfile TOKEN_IDS class_folders read_split tokens
    build_vocabulary encode_texts
    evaluate improved pick_device main x y self
    TOKENIZE TEXT_COLUMN read_vocabulary write_vocabulary
    """
)
NN_MODULE_ATTRIBUTES = words(
    """
    T_destination add_module apply bfloat16 buffers call_super_init children compile cpu
    cuda double dump_patches eval extra_repr float forward get_buffer get_extra_state
    get_parameter get_submodule half ipu load_state_dict modules mtia named_buffers
    named_children named_modules named_parameters parameters register_backward_hook
    register_buffer register_forward_hook register_forward_pre_hook
    register_full_backward_hook register_full_backward_pre_hook
    register_load_state_dict_post_hook register_load_state_dict_pre_hook register_module
    register_parameter register_state_dict_post_hook register_state_dict_pre_hook
    requires_grad_ set_extra_state set_submodule share_memory state_dict to to_empty train
    training type xpu zero_grad reset_parameters
    """
)

TARGET = Target(
    name="pytorch",
    framework="PyTorch",
    template="pytorch/train.py.j2",
    weights_file="model.pt",
    reserved=MODULE_NAMES | NN_MODULE_ATTRIBUTES,
    rewrites=(),
    unsupported={
        **IMAGE_FILES,
        **IGNORED_TARGETS,
        "label_smoothing.binary": "BCEWithLogitsLoss has no label smoothing; use `specc run`",
        "precision.fp16": "fp16 loss scaling is not emitted yet; use `precision bf16` or `specc run`",
        "compile.on": "torch.compile is not emitted; remove `compile on`",
    },
    requires=("torch",),
)
