"""Neural-network building blocks: Module, Tensor layers, losses, and the same layers made of Values.

Re-exports only; `tinygrad_edu.nn.functional` holds the functions (activations, losses, attention),
`tinygrad_edu.nn.utils` gradient clipping.
"""

from . import functional as functional
from . import utils as utils
from .attention import MultiheadAttention
from .dropout import Dropout
from .embedding import Embedding
from .functional import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge_loss,
    mse_loss,
    nll_loss,
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
    NLLLoss,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
)
from .module import LoadResult, Module, Parameter, is_parameter
from .network import NeuronNetwork, Weights
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from .scalar import Layer, Neuron, ScalarMLP

__all__ = [
    "GRU",
    "LSTM",
    "MLP",
    "RNN",
    "BCELoss",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "BatchNorm2d",
    "CrossEntropyLoss",
    "Dropout",
    "Embedding",
    "GRUCell",
    "HingeLoss",
    "Identity",
    "LSTMCell",
    "Layer",
    "LayerNorm",
    "Linear",
    "LoadResult",
    "MSELoss",
    "Module",
    "MultiheadAttention",
    "NLLLoss",
    "Neuron",
    "NeuronNetwork",
    "Parameter",
    "RNNCell",
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
    "nll_loss",
    "relu",
    "sigmoid",
    "tanh",
    "utils",
]
