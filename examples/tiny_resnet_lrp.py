"""The LRP canonizer hook of the worked example (config: `canonizers: examples/tiny_resnet_lrp.py:canonizers`).

The workflow's generic composite already merges batch norms (zennit's SequentialMergeBatchNorm) and knows the
usual layer types. What it cannot see is an operation that is not a module: here the residual `x + y` in
`ResidualBlock.add`. This hook returns a zennit canonizer that replaces that method, while LRP runs, with a zennit
`Sum` module, to which the composite gives the Norm rule (relevance split in proportion to the two summands).
"""

import torch
from tiny_resnet import ResidualBlock  # the model's file lies beside this one
from zennit.canonizers import AttributeCanonizer
from zennit.layer import Sum


def _residual_sum(name, module):
    if not isinstance(module, ResidualBlock):
        return None
    summation = Sum()
    return {"canonizer_sum": summation, "add": lambda x, y: summation(torch.stack([x, y], dim=-1))}


def canonizers():
    """Fresh zennit canonizers for TinyResNet (called once per composite)."""
    return [AttributeCanonizer(_residual_sum)]
