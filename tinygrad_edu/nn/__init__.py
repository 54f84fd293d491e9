"""Neural-network building blocks: Module, Tensor layers, losses, and the same layers made of Values.

Re-exports only; `tinygrad_edu.nn.functional` holds the functions (activations, losses,
convolution and pooling).
"""

from . import functional as functional
from .conv import AvgPool2d, Conv1d, Conv2d, Flatten, MaxPool2d
from .functional import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge_loss,
    mse_loss,
    relu,
    sigmoid,
    tanh,
)
from .layers import (
    MLP,
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HingeLoss,
    Identity,
    Linear,
    MSELoss,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
)
from .module import LoadResult, Module, Parameter, is_parameter
from .network import NeuronNetwork, Weights
from .scalar import Layer, Neuron, ScalarMLP

__all__ = [
    "MLP",
    "AvgPool2d",
    "BCELoss",
    "BCEWithLogitsLoss",
    "Conv1d",
    "Conv2d",
    "CrossEntropyLoss",
    "Flatten",
    "HingeLoss",
    "Identity",
    "Layer",
    "Linear",
    "LoadResult",
    "MaxPool2d",
    "MSELoss",
    "Module",
    "Neuron",
    "NeuronNetwork",
    "Parameter",
    "ReLU",
    "ScalarMLP",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "Weights",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "functional",
    "hinge_loss",
    "is_parameter",
    "mse_loss",
    "relu",
    "sigmoid",
    "tanh",
]
