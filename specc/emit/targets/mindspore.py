"""The `mindspore` target: an `nn.Cell` trained with `mindspore.value_and_grad`, as the
MindSpore 2.x tutorial's train_loop/test_loop does.

Only what differs from other targets lives here: the names `nn.Cell` owns, the lowering
rewrites MindSpore needs (explicit conv padding and weight shapes, MindSpore parameter
names -> the spec's weight names, which initialiser classes to import) and what MindSpore
scripts cannot express yet. MindSpore computes channels-first (NCHW) like
the spec, so no transposes are needed.
"""

from __future__ import annotations

import dataclasses

from specc.emit.lower import LayerView, ScriptPlan
from specc.emit.target import (
    IGNORED_TARGETS,
    IMAGE_FILES,
    Target,
    words,
)
from specc.ir.attention import SelfAttending
from specc.ir.conv import Conv
from specc.ir.layer import Weight
from specc.lowering.weights import native

# Everything the template defines at module level, plus the public attributes of nn.Cell
# (a layer called `construct` or `training` would break the model: it gets renamed).
MODULE_NAMES = words(
    """
    INPUTS COLUMNS records inputs_of inputs
    IGNORE unreduced cross_entropy kept SENTENCES SUBJECTS VERBS OBJECTS PLACES LOWERCASE collections re tokenize build_vocabulary
    TARGETS PREDICTIONS OUTPUTS targets_of named_losses split tensors
    pickle tarfile CIFAR_BATCHES PICKLE_GLOBALS ArraysOnly read_python_batch read_binary_batch
    read_cifar_folder extract
    argparse csv gzip zlib hashlib json math os sys urllib np ms nn ops optim
    Normal Uniform initializer
    EPOCHS BATCH_SIZE LR SEED OUT SHUFFLE DROP_LAST INPUT_SHAPE CLASSES VALIDATION_SPLIT
    TEST_SPLIT SAMPLES FEATURES NOISE DATA_SEED DATA_FILE DATA_PATH TARGET_COLUMN FEATURE_COLUMNS
    X_NAME Y_NAME MNIST_FILES DOWNLOAD_URL DOWNLOAD_MD5 EARLY_STOPPING PATIENCE MIN_DELTA
    RESTORE_BEST CHECKPOINT INIT_FROM INIT_STRICT WEIGHT_NAMES CONV1D_KERNELS
    parse_args whole_number positive_number check_labels check_splits read_idx_files read_idx read_mnist_folder download read_source hold_out transform load_data
    encode predict ratio compute_metrics learning_rate load_initial_weights save_weights
    neutral_weights read_weights transfer VOCAB DATA_VOCAB LENGTH check_ids mask causal
    sinusoidal_positions last_unpadded unpadded along
    snapshot restore evaluate improved augment Plateau IMAGE_SHAPE main x y self
    TOKENIZE TEXT_COLUMN read_vocabulary write_vocabulary
    find_imdb read_array pad_pre io zipfile TOKEN_IDS class_folders read_split tokens
    build_vocabulary encode_texts collections re LOWERCASE
    """
)
NN_CELL_ATTRIBUTES = words(
    """
    IGNORE_LIST T_destination add_flags add_flags_recursive apply arguments_key bprop_debug
    buffers cast_inputs cell_init_args cell_type cells cells_and_names check_names
    check_names_and_refresh_name cls_name compile compile_and_run compile_cache
    compile_phase compiled construct create_time enable_backward_hook exist_names
    exist_objs extend_repr generate_scope get_buffer get_extra_state get_flags
    get_func_graph_proto get_inputs get_mixed_precision_type get_parameters get_scope
    get_sub_cell global_cells grad_ops_label has_bprop init_parameters_data
    insert_child_to_cell insert_param_to_cell is_top_cell jit_config_dict load_state_dict
    mixed_precision_type name_cells named_buffers offload parallel_parameter_merge_net_dict
    parallel_parameter_name_list param_prefix parameter_layout_dict parameters_and_names
    parameters_broadcast_dict parameters_dict phase phase_cache pipeline_segment
    pipeline_stage recompute register_backward_hook register_backward_pre_hook
    register_buffer register_forward_hook register_forward_pre_hook
    register_load_state_dict_post_hook register_load_state_dict_pre_hook
    register_parameter_forward_hook register_saved_tensors_hooks
    register_state_dict_post_hook register_state_dict_pre_hook remove_redundant_parameters
    requires_grad run_construct set_boost set_broadcast_flag set_comm_fusion
    set_data_parallel set_extra_state set_grad set_inputs set_jit_config
    set_mixed_precision_type set_train shard state_dict to to_empty to_float
    total_instance_count trainable_params training untrainable_params update_cell_prefix
    update_cell_type update_parameters_name
    """
)


def weight_names(p: ScriptPlan) -> ScriptPlan:
    """`weight_names`: (MindSpore parameter name, spec weight key) pairs.

    Saved weights use the spec's names in PyTorch's layout (docs/semantics.md#layers);
    MindSpore names arrays by role (specc/lowering/weights.py: `gamma`, `moving_mean`).
    """
    pairs = tuple(
        (f"{layer.name}.{native('mindspore', w).name}", f"{layer.weights_name}.{w.name}")
        for layer in p.weighted
        for w in layer.weights
    )
    return p.replace(weight_names=pairs)


def layer_args(p: ScriptPlan) -> ScriptPlan:
    """Arguments MindSpore needs spelled out, computed once here for the templates.

    conv2d: an explicit `pad_mode`/`padding` (MindSpore's default is `same`); dense and
    conv2d: `kernel_shape`/`bias_shape`, which an asymmetric `uniform(a, b)` initialiser
    needs (MindSpore's `Uniform` is symmetric); the attention kinds: `resets`, the arrays
    set to the spec's initialisers after construction.
    """
    out: list[LayerView] = []
    for layer in p.layers:
        args = dict(layer.args)
        if isinstance(layer.ir, Conv):
            args.update(_padding(layer.ir))
        if isinstance(layer.ir, SelfAttending):
            args["resets"] = _resets(layer)
        for weight in layer.weights:  # the arrays an initialiser draws: kernel and bias
            if weight.init is not None:
                args[f"{weight.role}_shape"] = weight.shape
        out.append(dataclasses.replace(layer, args=args))
    return p.replace(layers=tuple(out))


def _resets(layer: LayerView) -> tuple[tuple[str, Weight], ...]:
    """nn.MultiheadAttention and nn.TransformerEncoderLayer start their dense layers as
    kaiming_uniform(a=sqrt(5)) with uniform biases, not as the spec (glorot-uniform, zero
    biases): each array is set after construction, by its MindSpore attribute path."""
    return tuple((native("mindspore", w).name, w) for w in layer.weights if w.init is not None)


def _padding(conv: Conv) -> dict[str, object]:
    """`same` pads (k-1)//2 before and the rest after (docs/semantics.md#shapes): one
    number when every side is equal, else (before, after) per axis, flattened as MindSpore
    wants ((top, bottom, left, right) for 2-D)."""
    padding = conv.padding  # type: ignore[attr-defined]
    if padding == "valid":
        return {"pad_mode": "valid", "padding": 0}
    if isinstance(padding, int):
        return {"pad_mode": "pad", "padding": padding}
    sides: tuple[int, ...] = ()
    for k in conv.window(conv.kernel):  # type: ignore[attr-defined]
        sides += ((k - 1) // 2, k - 1 - (k - 1) // 2)
    return {"pad_mode": "pad", "padding": sides[0] if len(set(sides)) == 1 else sides}


TARGET = Target(
    name="mindspore",
    framework="MindSpore",
    template="mindspore/train.py.j2",
    weights_file="model.ckpt",
    reserved=MODULE_NAMES | NN_CELL_ATTRIBUTES,
    rewrites=(layer_args, weight_names),
    unsupported={
        **IMAGE_FILES,
        **IGNORED_TARGETS,
        "label_smoothing.binary": "BCEWithLogitsLoss has no label smoothing; use `specc run`",
        "precision.bf16": "mixed precision is not emitted for MindSpore; use `specc run`",
        "precision.fp16": "mixed precision is not emitted for MindSpore; use `specc run`",
        "compile.on": "graph mode (mindspore.jit) is not emitted; remove `compile on`",
    },
    requires=("mindspore",),
    device_help="auto (the CPU), cpu, gpu or ascend",
)
