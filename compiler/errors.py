"""Errors a user can act on. The CLI prints ``str(err)`` as one line and exits 1.

The one rule for every module:

- Class by cause, not by module: ``UnsupportedError`` for a valid model that uses an op,
  attribute value or pattern cnnc does not compile; ``ShapeError`` for shapes that do not
  fit; ``ModelError`` for a file that is not a valid ONNX model; the others for their
  inputs (calibration data, weight blob, toolchain, data set). ``CnncError`` itself only
  for broken internal invariants (a cnnc bug, e.g. an accumulator proof that failed).
- Message: ``<where>: <what is wrong>[; <what is supported or what to do>]``. A node is
  always written ``node '<name>' (<op>)`` (the name quoted, as it may hold spaces), a
  tensor ``'<name>'`` with its shape as a list ``[1, 3, 224, 224]``.
"""


class CnncError(Exception):
    """Base of every error cnnc reports to a user; the message names what and where."""


class ModelError(CnncError):
    """The ONNX file is unreadable, malformed, or fails the checker or shape inference."""


class UnsupportedError(CnncError):
    """An op, attribute or pattern cnnc does not compile (names the node and what is supported)."""


class ShapeError(CnncError):
    """A tensor's shape does not fit where it is used (names the tensor and both shapes)."""


class CalibrationError(CnncError):
    """Calibration data is missing, empty, or does not fit the model's input."""


class BlobError(CnncError):
    """A weight blob is corrupt, truncated, or of another format version."""


class ToolchainError(CnncError):
    """A compiler or emulator is missing or failed (names the Debian package to install)."""


class DataError(CnncError):
    """A data set file or folder is missing or corrupt."""
