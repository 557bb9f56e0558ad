"""The typed IR: the single source of meaning for backends, emitters and tools."""

from specc.ir.base import Node, strip_spans
from specc.ir.spec import InitFrom, Input, Model, Spec

__all__ = ["InitFrom", "Input", "Model", "Node", "Spec", "strip_spans"]
