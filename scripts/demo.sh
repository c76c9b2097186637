#!/usr/bin/env bash
# The main job, end to end on the bundled digits data:
# train three networks, compile each (float32, int8, binary), build the C,
# verify it against the NumPy reference (host, and ARM under qemu when the
# cross toolchains are installed), evaluate the compiled C, print the tables.
set -euo pipefail
OUT=${1:-out}
CNNC=${CNNC:-.venv/bin/cnnc}
PY=${PY:-.venv/bin/python}
mkdir -p "$OUT"

step() { printf '\n== %s\n' "$*"; }

step "train (NumPy) on scikit-learn's digits"
$CNNC train mobilenetv2 --dataset digits -o "$OUT/mobilenetv2.onnx" \
    --metrics "$OUT/mobilenetv2.metrics.json" --plot "$OUT/mobilenetv2.png"
# MobileNetV2 with squeeze-excitation (SENet): Sigmoid gates and x*gate run as integers in int8
$CNNC train se_mobilenet --dataset digits -o "$OUT/se_mobilenet.onnx" \
    --metrics "$OUT/se_mobilenet.metrics.json"
$CNNC train vgg --dataset digits -o "$OUT/vgg.onnx" --metrics "$OUT/vgg.metrics.json"
$CNNC train xnornet --dataset digits -o "$OUT/xnornet.onnx" --metrics "$OUT/xnornet.metrics.json"

step "a verification batch: the first 200 test images, preprocessed per model"
for m in mobilenetv2 se_mobilenet vgg xnornet; do
    $PY - "$OUT/$m.onnx" "$OUT/$m.inputs.npz" <<'EOF'
import sys

import numpy as np
import onnx

from cnnc.models.data import inputs_for_model

model = onnx.load(sys.argv[1])
meta = {p.key: p.value for p in model.metadata_props}
x, _ = inputs_for_model(meta, "digits", "test")
np.savez(sys.argv[2], x=x[:200])
EOF
done

ARM_TARGETS=()
if command -v aarch64-linux-gnu-gcc >/dev/null && command -v qemu-aarch64 >/dev/null; then
    ARM_TARGETS+=(aarch64)
fi
if command -v arm-linux-gnueabihf-gcc >/dev/null && command -v qemu-arm >/dev/null; then
    ARM_TARGETS+=(armv7)
fi
if [ ${#ARM_TARGETS[@]} -lt 2 ]; then
    echo "note: ARM verification needs Debian's gcc-aarch64-linux-gnu, gcc-arm-linux-gnueabihf" \
         "and qemu-user; found targets: ${ARM_TARGETS[*]:-none}"
fi

build() {  # build MODEL PRECISION [compile options...]; SUFFIX names a variant's folder
    local m=$1 p=$2; shift 2
    local dir="$OUT/$m-$p${SUFFIX:-}"
    step "compile $m ($p${SUFFIX:-})"
    $CNNC compile "$OUT/$m.onnx" -o "$dir" --precision "$p" "$@"
    step "verify $m ($p${SUFFIX:-}): C vs NumPy reference"
    $CNNC verify "$dir" --inputs "$OUT/$m.inputs.npz"
    for t in "${ARM_TARGETS[@]}"; do
        $CNNC verify "$dir" --inputs "$OUT/$m.inputs.npz" --target "$t"
    done
    step "accuracy of the compiled C on the digits test split: $m ($p${SUFFIX:-})"
    $CNNC eval "$dir" --dataset digits
}

build mobilenetv2 float32
build mobilenetv2 int8 --calibration digits
build se_mobilenet float32
build se_mobilenet int8 --calibration digits
build vgg float32
build vgg int8 --calibration digits
build xnornet float32
build xnornet binary
# binary layers between int8 first/last layers: the whole C is integer and bit-exact
SUFFIX=-int8 build xnornet binary --calibration digits

step "summary: the compiled C of each model on the 360 digits test images (host)"
$PY - "$OUT" <<'EOF'
import json
import sys
from pathlib import Path

import numpy as np

import cnnc
from cnnc.models.data import inputs_for_model

out = Path(sys.argv[1])
head = (f"{'model':<12} {'precision':<11} {'C accuracy':>10} {'weights B':>10} {'arena B':>9} "
        f"{'MACs':>11} {'BOPs':>11} {'weights vs float32':>18}")
print(head)
print("-" * len(head))
for m in ["mobilenetv2", "se_mobilenet", "vgg", "xnornet"]:
    float_bytes = None
    for p in ["float32", "int8", "binary", "binary-int8"]:
        folder = out / f"{m}-{p}"
        if not folder.is_dir():
            continue
        compiled = cnnc.load(folder)
        x, y = inputs_for_model(compiled.info["metadata"], "digits", "test")
        acc = float(np.mean(compiled.run(x).reshape(len(x), -1).argmax(axis=1) == y))
        t = json.loads((folder / "report.json").read_text())["totals"]
        float_bytes = float_bytes or t["flash_weights_bytes"]
        ratio = t["flash_weights_bytes"] / float_bytes
        print(f"{m:<12} {p:<11} {acc:>10.4f} {t['flash_weights_bytes']:>10,} "
              f"{t['arena_bytes']:>9,} {t['macs']:>11,} {t['bops']:>11,} {ratio:>17.3f}x")
EOF
echo
echo "Every output folder above builds alone: 'make' (host or on the Pi), 'make TARGET=aarch64'."
