"""Names every doctest can use, as a reader of the docs would have them."""

import numpy as np
import pytest

import tinygrad_edu as tg


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace: dict) -> None:
    doctest_namespace.update(np=np, tg=tg, Value=tg.Value, Tensor=tg.Tensor)
