"""specc: declare a neural network and its training in a few lines; run it or emit a script."""

__version__ = "0.1.0"
# The name on the package index: `specc` there is an unrelated project (0.3.0, 2021), so
# ours is published as `specc-nn`; the command and the import name stay `specc`.
DISTRIBUTION = "specc-nn"
