"""The Cortex-M DSP depthwise convolution on 2x2 and 4x4 images (s8_dwconv_dsp.c,
dsp_dw_pairs_as: 3x3, padding 1, stride 1 on 2x2 and 4x4 images, stride 2 on 4x4, the
double rounding, the full clamp and output zero point -128: int16 pairs of one channel, two
taps an SMLAD) equals cnnc_s8_dwconv__ref byte for byte on an emulated Cortex-M4, with the
shared depthwise driver of test_mcu_dsp.py: input zero points -128 (x - zp up to 255), 127
and one between; channel counts of one to three groups of four and a rest; two images;
groups whose multipliers or shifts have no fast form (the layer then runs the other
paths), shifts past the path's (e 21..31) beside those it takes, biases near 2^30
(saturating doubled sums) and, kind 4, on the edges of the bound |bias| < 2^29 of the 4x4
image's doubled sums (2^29 - 1, 2^29, -2^29, -2^29 - 1, +-2^30, INT32_MAX, INT32_MIN: the
sums of the last two wrap);
and beside them the layers the path must leave to the others
(output zero points 127 and -20, a narrower clamp, the single rounding). Two geometries
of the 3x3 groups (dsp_dw3x3_groups: 4x4 outputs at stride 2, 3x7 without padding) check
their doubled sums' requantisation without the sign's term (DSP_RQ_DOUBLE2Z) where the
output zero point is -128. At -Os the fast paths are compiled out and the same grid checks
the compact ones."""

import pytest

from .mcu_run import run_driver
from .test_mcu_dsp import DW_DRIVER, c_rows

pytestmark = pytest.mark.arm

# h, w, kernel, stride, pad
GEOMETRIES = [(2, 2, 3, 1, 1), (4, 4, 3, 1, 1), (4, 4, 3, 2, 1), (8, 8, 3, 2, 1), (5, 9, 3, 1, 0)]
CHANNELS = (4, 8, 12, 13)
# (x_zero_point, y_zero_point, act_min, act_max): the path's three, then three it leaves
OUTS = ((-128, -128, -128, 127), (127, -128, -128, 127), (-7, -128, -128, 127),
        (-128, 127, -128, 127), (-128, -128, -128, 100), (3, -20, -128, 127))  # fmt: skip
# (rounding, requantisation kind) as test_mcu_dsp.py's DW_REQUANTS, kind 3: fast-form
# multipliers with right shifts 17..31 (the path takes e <= 20: its c = -255 2^(e-1)), kind
# 4: the odd channels' biases on the edges of the doubled 4x4 sums' bound (BIAS_EDGES)
REQUANTS = ((1, 0), (1, 1), (1, 2), (1, 3), (1, 4), (0, 0))
BIAS_LINE = "if (kind == 2 && (i & 1)) bias[i] = (i & 2 ? -1 : 1) * ((1 << 30) - (1 << 17));"
BIAS_EDGES = (
    "if (kind == 4 && (i & 1)) { static const int32_t e[] = {(1 << 29) - 1, 1 << 29,"
    " -(1 << 29), -(1 << 29) - 1, INT32_MAX, INT32_MIN, 1 << 30, -(1 << 30)};"
    " bias[i] = e[(i >> 1) % 8]; }"
)
SHIFTS = "shift[i] = kind == 1 ? uniform(-31, 30) : -uniform(2, 14);"
CASES = len(GEOMETRIES) * len(CHANNELS) * len(OUTS) * len(REQUANTS)


@pytest.mark.parametrize("opt", [(), ("-Os",)], ids=["target-flags", "Os"])
def test_dsp_dwconv_small_images_equal_ref(tmp_path, opt):
    driver = DW_DRIVER
    for name, rows in (("@GEO", GEOMETRIES), ("@OUTS", OUTS), ("@REQUANTS", REQUANTS)):
        driver = driver.replace(name, c_rows(rows))
    driver = driver.replace("@CHANS", ", ".join(map(str, CHANNELS)))
    assert SHIFTS in driver
    driver = driver.replace(
        SHIFTS, SHIFTS.replace(": -uniform", ": kind == 3 ? -uniform(17, 31) : -uniform")
    )
    assert BIAS_LINE in driver
    driver = driver.replace(BIAS_LINE, BIAS_LINE + "\n            " + BIAS_EDGES)
    out = run_driver(tmp_path, driver, ["s8_dwconv.c", "s8_dwconv_dsp.c"], opt)
    assert f"{CASES} cases, 0 failures" in out, out
