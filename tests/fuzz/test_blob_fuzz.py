"""Mutated weight blobs given to a generated model's cnnc_model_init (int8 and binary
models, through cffi): every mutation must end in a non-OK status.

Raw bit flips and truncations must be caught by the CRC and size checks; CRC-valid
edits (payload, header and table fields, recomputed CRC) and another model's blob only
by deeper validation and by binding the blob to its model (blob v2)."""

import re
import struct

import mutators
import pytest
import seeds
from hypothesis import assume, given
from hypothesis import strategies as st

MODELS = ["int8", "binary"]


def assert_refused(harness, data: bytes, what: str) -> None:
    status = harness.init(data)
    assert status != 0, f"{harness.out_dir.name}: init accepted a mutated blob ({what})"


@pytest.mark.parametrize("model", MODELS)
@seeds.fuzz_settings(150)
@given(data=st.data())
def test_bit_flips_are_refused(blob_harnesses, model, data):
    harness = blob_harnesses[model]
    blob, what = mutators.flip_bits(harness.blob, mutators.HypothesisPick(data))
    assert_refused(harness, blob, what)


@pytest.mark.parametrize("model", MODELS)
@seeds.fuzz_settings(100)
@given(data=st.data())
def test_truncations_are_refused(blob_harnesses, model, data):
    harness = blob_harnesses[model]
    blob, what = mutators.truncate(harness.blob, mutators.HypothesisPick(data))
    assert_refused(harness, blob, what)


@pytest.mark.parametrize("model", MODELS)
@seeds.fuzz_settings(100)
@given(data=st.data())
def test_splices_and_overwrites_are_refused(blob_harnesses, model, data):
    harness = blob_harnesses[model]
    pick = mutators.HypothesisPick(data)
    if pick.int(0, 1):
        blob, what = mutators.splice(harness.blob, harness.blob[::-1], pick)
    else:
        blob, what = mutators.overwrite(harness.blob, pick)
    # a splice at the very end only appends: test_bytes_past_total_are_refused covers that
    assume(blob[: len(harness.blob)] != harness.blob)
    assert_refused(harness, blob, what)


@pytest.mark.parametrize("model", MODELS)
@seeds.fuzz_settings(10)
@given(data=st.data())
def test_bytes_past_total_are_refused(blob_harnesses, model, data):
    harness = blob_harnesses[model]
    blob, what = mutators.extend(harness.blob, mutators.HypothesisPick(data))
    assert_refused(harness, blob, what)


@pytest.mark.parametrize("model", MODELS)
@seeds.fuzz_settings(100)
@given(data=st.data())
def test_crc_valid_payload_edits_are_refused(blob_harnesses, model, data):
    harness = blob_harnesses[model]
    blob, what = mutators.payload_edit(harness.blob, mutators.HypothesisPick(data))
    assert_refused(harness, blob, what)


@pytest.mark.parametrize("model", MODELS)
@seeds.fuzz_settings(150)
@given(data=st.data())
def test_crc_valid_header_edits_are_refused(blob_harnesses, model, data):
    harness = blob_harnesses[model]
    blob, what = mutators.header_edit(harness.blob, mutators.HypothesisPick(data))
    assert_refused(harness, blob, what)


@pytest.mark.parametrize(
    "model, other",
    [
        ("int8", "binary"),
        ("binary", "int8"),
        ("int8", "int8_other_weights"),
        ("int8", "int8_other_calibration"),
        ("binary", "binary_other_weights"),
    ],
)
def test_another_models_blob_is_refused(blob_harnesses, folders, model, other):
    other_blob = (folders[other] / "weights.bin").read_bytes()
    assert other_blob != blob_harnesses[model].blob
    assert_refused(blob_harnesses[model], other_blob, f"the blob of {other}")


@pytest.mark.parametrize("model", MODELS)
def test_the_own_blob_is_accepted(blob_harnesses, model):
    """The oracle's control: the unmutated blob initialises."""
    harness = blob_harnesses[model]
    assert harness.init(harness.blob) == 0


def int32_sections(out_dir) -> dict[str, int]:
    """Name -> section index of the int32 sections, from model.c's section list."""
    text = (out_dir / "model.c").read_text()
    return {m[2]: int(m[1]) for m in re.finditer(r"/\*\s+(\d+): (\S+) \[[^]]*\] int32 \*/", text)}


@pytest.mark.parametrize("value", [2**31 - 1, -(2**31), 2**31 - 1000, -(2**31) + 1000])
def test_ota_build_refuses_a_bias_that_could_overflow_the_accumulator(folders, value):
    """Under -DCNNC_MODEL_ANY_WEIGHTS no content hash protects the stored values, so init's
    range check is all that stands between a CRC-valid bias edit and a signed overflow in
    the int8 conv/dense accumulator (the campaign found it: s8_conv.c, s8_dense.c). Every
    bias of the int8 model set to a value near the int32 limits must be refused."""
    ota = seeds.blob_harness(folders["int8"], ("-DCNNC_MODEL_ANY_WEIGHTS",))
    assert ota.init(ota.blob) == 0, "the OTA build refuses its own blob"
    biases = {n: i for n, i in int32_sections(folders["int8"]).items() if "bias" in n}
    assert biases, "no int32 bias section found in model.c's section list"
    for name, index in biases.items():
        offset = struct.unpack_from("<I", ota.blob, 64 + 16 * index)[0]
        edited = bytearray(ota.blob)
        struct.pack_into("<i", edited, offset, value)
        status = ota.init(mutators.fix_crc(bytes(edited)))
        assert status == 10, f"{name}[0] = {value}: OTA init returned {status}, not 10 (range)"
