"""The one lowering both `specc run` and `specc emit` consume.

From a checked spec to what an executor or a template needs, as small passes, each in its
own module, each deciding one thing once:

- `steps.lower`: the model unrolled and named (`repeat` expanded, `<kind>_<n>` names from
  specc/shapes.py), each layer with its neutral weights (`Layer.weights`), and the final
  softmax/sigmoid a cross-entropy takes logits for split off as the prediction head
  (`head.py`, docs/semantics.md#losses);
- `layout.channels_last`: the rewrite a channels-last framework needs (Keras, TensorFlow;
  the TensorFlow executor and the keras/tensorflow targets use the same one), driven by
  each kind's `layout` fact;
- `spaces.find`: every search space left in a spec (E601 for run and emit, the
  parameters of `specc sweep`);
- `capabilities.gate`: one E600 gate in which backends and targets alike declare, as a
  table of feature -> reason, what they cannot do;
- `weights`: one table per framework from a weight role to its name and axis order.
"""

from specc.lowering.head import final_activation, logits_loss, prediction_head, probability_head
from specc.lowering.steps import Lowered, LoweredOutput, Step, lower

__all__ = [
    "Lowered",
    "LoweredOutput",
    "Step",
    "final_activation",
    "logits_loss",
    "lower",
    "prediction_head",
    "probability_head",
]
