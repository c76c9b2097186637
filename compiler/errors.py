"""Errors a user can act on. The CLI prints ``str(err)`` as one line and exits 1."""


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
