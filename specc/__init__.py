"""specc: declare a neural network and its training in a few lines; run it or emit a script."""

__version__ = "0.1.0"
