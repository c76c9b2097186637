"""Requantisation: int32 accumulator -> scaled int32, the one rounding rule of the int8 path.

The NumPy side of the pair whose C side is ``cnnc_requant_single`` /
``cnnc_requant_double`` in ``runtime_c/include/cnnc_s8.h``. Both sides compute
the same integers for every input; ``tests/runtime/test_requant.py`` checks
that exhaustively on the edges before any kernel uses them.

A real multiplier ``M > 0`` is stored as a Q31 multiplier ``m`` and a shift
``s`` with ``M ~= m * 2**(s - 31)`` (``quantize_multiplier``, TFLite's
``QuantizeMultiplier``): ``M = f * 2**s`` with ``f`` in [0.5, 1),
``m = round_half_away(f * 2**31)``; ``m == 2**31`` becomes ``2**30`` with
``s + 1``; ``s < -31`` flushes to ``(0, 0)``; ``s > 30`` saturates to
``(2**31 - 1, 30)``. ``M == 0`` gives ``(0, 0)``.

Contract (asserted in the C header and by ``check_multiplier`` here):
``x`` any int32, ``0 <= m <= 2**31 - 1``, ``-31 <= s <= 30``. The result is
an int32; every intermediate is exact in int64.

Rounding rule "single" (TFLite ``TFLITE_SINGLE_ROUNDING``, one rounding)::

    y = sat32( floor( (x * m + 2**(30 - s)) / 2**(31 - s) ) )

i.e. ``x * M`` rounded to nearest with ties toward +infinity (-2.5 -> -2,
2.5 -> 3), then saturated to int32 (only possible for ``s > 0``).

Rounding rule "double" (gemmlowp, the TFLM default; two roundings)::

    l  = max(s, 0), r = max(-s, 0)
    x' = sat32(x * 2**l)                                # saturating left shift
    h  = SaturatingRoundingDoublingHighMul(x', m)
       = trunc_toward_zero((x' * m + nudge) / 2**31),   nudge = 2**30 if x'*m >= 0
                                                                else 1 - 2**30
       = floor(x' * m / 2**31 + 1/2)
    y  = RoundingDivideByPOT(h, r)
       = (h >> r) + (1 if (h & (2**r - 1)) > ((2**r - 1) >> 1) + (h < 0) else 0)

The high multiply rounds to nearest with ties toward +infinity (like ARM's
VQRDMULH: -2.5 -> -2, 2.5 -> 3); the divide by 2**r rounds to nearest with
ties away from zero (-0.5 -> -1, 0.5 -> 1). A value can thus be rounded twice
(x * M = -0.5 gives 0 in single mode, -1 in double mode). Saturation happens at
the left shift, before the multiply: with ``m = 2**30, s = 2`` (M = 2) the
input 2**30 gives 2**30 in double mode and 2**31 - 1 in single mode. The one
deviation from TFLM: TFLM's left shift ``x * (1 << l)`` overflows (undefined
behaviour) where this one saturates. SaturatingRoundingDoublingHighMul's own
saturation (``x' == m == -2**31``) cannot happen because ``m >= 0``.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import CnncError

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
SHIFT_MIN = -31
SHIFT_MAX = 30
ROUNDING_MODES = ("single", "double")
# Pre-quantised models may also requantise as onnxruntime does (cnnc.passes.prequant).
PREQUANT_ROUNDING_MODES = ROUNDING_MODES + ("onnxruntime",)
# The C side's enum values for the ``rounding`` field of every s8 params struct.
ROUNDING_CODES = {"single": 0, "double": 1, "onnxruntime": 2}
ROUNDING_NAMES = {code: name for name, code in ROUNDING_CODES.items()}


def quantize_multiplier(real: float) -> tuple[int, int]:
    """Real multiplier ``M >= 0`` -> ``(m, s)``, ``M ~= m * 2**(s - 31)``, m in [2**30, 2**31)."""
    if not math.isfinite(real) or real < 0:
        raise CnncError(f"requantisation multiplier {real!r} is negative or not finite")
    if real == 0.0:
        return 0, 0
    frac, shift = math.frexp(real)  # real = frac * 2**shift, frac in [0.5, 1)
    q = int(math.floor(frac * 2**31 + 0.5))  # frac * 2**31 is exact in float64; ties away
    if q == 2**31:
        q, shift = q // 2, shift + 1
    if shift < SHIFT_MIN:
        return 0, 0
    if shift > SHIFT_MAX:
        return INT32_MAX, SHIFT_MAX
    return q, shift


def quantize_multipliers(real: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel ``quantize_multiplier``: returns int32 arrays ``(m[C], s[C])``."""
    pairs = [quantize_multiplier(float(r)) for r in np.asarray(real, np.float64).ravel()]
    m = np.array([p[0] for p in pairs], np.int32).reshape(np.shape(real))
    s = np.array([p[1] for p in pairs], np.int32).reshape(np.shape(real))
    return m, s


def check_multiplier(m: np.ndarray, s: np.ndarray) -> None:
    """Raises CnncError unless every (m, s) satisfies the contract above."""
    m, s = np.asarray(m, np.int64), np.asarray(s, np.int64)
    if np.any((m < 0) | (m > INT32_MAX)):
        raise CnncError(f"requantisation multiplier outside [0, 2**31-1]: {m.min()}..{m.max()}")
    if np.any((s < SHIFT_MIN) | (s > SHIFT_MAX)):
        raise CnncError(f"requantisation shift outside [-31, 30]: {s.min()}..{s.max()}")


def _sat32(v: np.ndarray) -> np.ndarray:
    return np.clip(v, INT32_MIN, INT32_MAX)


def requant_single(x, m, s) -> np.ndarray:
    """Single rounding (see module doc); broadcasts x, m, s; returns int32."""
    x = np.asarray(x, np.int64)
    m = np.asarray(m, np.int64)
    total = 31 - np.asarray(s, np.int64)  # 1..62
    # |x * m| <= 2**62 and the rounding term <= 2**61: the sum fits int64.
    v = (x * m + np.left_shift(np.int64(1), total - 1)) >> total
    return _sat32(v).astype(np.int32)


def saturating_rounding_doubling_high_mul(a, b) -> np.ndarray:
    """gemmlowp's SaturatingRoundingDoublingHighMul on int32 values held in int64."""
    a = np.asarray(a, np.int64)
    b = np.asarray(b, np.int64)
    ab = a * b  # |a*b| <= 2**62
    nudge = np.where(ab >= 0, np.int64(1 << 30), np.int64(1 - (1 << 30)))
    v = ab + nudge
    high = np.where(v >= 0, v >> 31, -((-v) >> 31))  # C's truncating division by 2**31
    overflow = (a == INT32_MIN) & (b == INT32_MIN)
    return np.where(overflow, INT32_MAX, high)


def rounding_divide_by_pot(x, exponent) -> np.ndarray:
    """gemmlowp's RoundingDivideByPOT: x / 2**exponent, ties away from zero, exponent 0..31."""
    x = np.asarray(x, np.int64)
    e = np.asarray(exponent, np.int64)
    mask = np.left_shift(np.int64(1), e) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> e) + (remainder > threshold)


def requant_double(x, m, s) -> np.ndarray:
    """Double rounding (gemmlowp / TFLM default); broadcasts x, m, s; returns int32."""
    x = np.asarray(x, np.int64)
    s = np.asarray(s, np.int64)
    left = np.maximum(s, 0)
    right = np.maximum(-s, 0)
    shifted = _sat32(np.left_shift(x, left))  # |x| * 2**30 < 2**62: exact before saturation
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, m), right).astype(
        np.int32
    )


ORT_LIMIT = np.float32(32767.0)  # |rne(v)| beyond this saturates any int8 output anyway


def requant_onnxruntime(x, m, s=0) -> np.ndarray:
    """onnxruntime's (MLAS) requantisation: ``m`` holds the bits of a float32 multiplier
    M (``shift`` unused, 0); y = rne(float32(x) * M) computed in float32, clamped to
    [-32768, 32767] before rounding (NaN, impossible for a finite M, to -32768). The
    clamp changes no int8 result: y + zero point is clamped to [-128, 127] after it."""
    x = np.asarray(x, np.int64)
    scale = np.asarray(m, np.int32).view(np.float32)
    with np.errstate(invalid="ignore", over="ignore"):  # inf/NaN patterns: clamped below
        v = x.astype(np.float32) * scale  # one float32 multiply, round to nearest even
    v = np.where(v > -ORT_LIMIT - 1, v, -ORT_LIMIT - 1)  # NaN -> -32768
    v = np.where(v < ORT_LIMIT, v, ORT_LIMIT)
    return np.rint(v).astype(np.int32)  # rint: round half to even


REQUANT = {
    "single": requant_single,
    "double": requant_double,
    "onnxruntime": requant_onnxruntime,
}


def requantize(x, m, s, rounding: str) -> np.ndarray:
    """The requantisation of the int8 path: ``x * m * 2**(s-31)`` rounded per ``rounding``."""
    if rounding not in REQUANT:
        raise CnncError(
            f"unknown rounding mode {rounding!r}; expected one of {PREQUANT_ROUNDING_MODES}"
        )
    return REQUANT[rounding](x, m, s)
