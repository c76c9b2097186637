"""cnnc: compile CNNs from ONNX into dependency-free C99 and verify the C against NumPy.

Usage::

    import cnnc
    m = cnnc.compile("model.onnx", "out/", precision="float32")
    y_c, y_ref = m.run(x), m.reference(x)
    m = cnnc.load("out/")
"""

from .api import CompiledModel, compile, load  # noqa: A004
from .ops.variants import FLOAT_MODES

__all__ = ["FLOAT_MODES", "CompiledModel", "compile", "load"]
