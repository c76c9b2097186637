"""The qemu instruction counter (cnnc.host.icount) against counts read from the disassembly.

A C loop of known trip count is cross-compiled; the expected count of its function comes
from ``objdump -d``: every instruction once, plus (trips - 1) more times the loop body
between the backward branch's target and the branch itself.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter

import pytest
from cnnc.host import icount
from cnnc.host.targets import target_cc

from .conftest import require_target, require_tool

pytestmark = pytest.mark.arm

LOOP_C = r"""
volatile int sink;
__attribute__((noinline)) void count_loop(int n) { for (int i = 0; i < n; i++) sink = i; }
int main(int argc, char **argv) { (void)argv; count_loop(37 * argc); return 0; }
"""
TRIPS_PER_ARG = 37
OBJDUMP = {"aarch64": "aarch64-linux-gnu-objdump", "armv7": "arm-linux-gnueabihf-objdump"}
INSN_LINE = re.compile(r"^\s+([0-9a-f]+):\s+[0-9a-f]+(?: [0-9a-f]+)?\s+(\S+)\s*(.*)$")


@pytest.fixture(scope="module", params=["aarch64", "armv7"])
def loop_program(request, tmp_path_factory):
    target = require_target(request.param)
    objdump = require_tool(OBJDUMP[request.param], "binutils-multiarch")
    folder = tmp_path_factory.mktemp(f"icount-{request.param}")
    (folder / "loop.c").write_text(LOOP_C)
    binary = folder / "loop"
    subprocess.run([target_cc(target), "-O2", "-static", str(folder / "loop.c"), "-o",
                    str(binary)], check=True)  # fmt: skip
    listing = subprocess.run([objdump, "-d", "-t", str(binary)], capture_output=True,
                             text=True, check=True).stdout  # fmt: skip
    return target, binary, function_instructions(listing, "count_loop")


def function_instructions(listing: str, name: str) -> list[tuple[int, str, str]]:
    """(address, mnemonic, operands) of the function's instructions: literal words and the
    alignment padding past the symbol's size (from the symbol table) dropped."""
    entry = re.search(rf"^([0-9a-f]+) .*\bF\s+\.text\s+([0-9a-f]+)\s+{name}$", listing, re.M)
    start, size = int(entry.group(1), 16) & ~1, int(entry.group(2), 16)
    body = listing.split(f"<{name}>:\n", 1)[1].split("\n\n", 1)[0]
    found = [INSN_LINE.match(line) for line in body.splitlines()]
    insns = [(int(m.group(1), 16), m.group(2), m.group(3)) for m in found if m]
    return [i for i in insns if not i[1].startswith(".") and i[0] < start + size]


def expected_count(insns: list[tuple[int, str, str]], trips: int) -> int:
    """Each instruction once, the loop body (backward branch target .. branch) trips-1 more."""
    backward = [
        (int(m.group(1), 16), addr)
        for addr, op, args in insns
        if op.startswith(("b", "cb")) and (m := re.match(r"(?:\S+,\s*)?([0-9a-f]+) <", args))
        and int(m.group(1), 16) < addr
    ]  # fmt: skip
    assert len(backward) == 1, f"expected one backward branch in {insns}"
    start, end = backward[0]
    body = sum(1 for addr, _, _ in insns if start <= addr <= end)
    assert 2 <= body < len(insns)
    return len(insns) + (trips - 1) * body


@pytest.mark.parametrize("args", [[], ["x"], ["x", "y"]], ids=["n37", "n74", "n111"])
def test_count_matches_disassembly(loop_program, args):
    target, binary, insns = loop_program
    counts, _ = icount.count([target.qemu, "-L", target.sysroot, str(binary), *args], binary)
    trips = TRIPS_PER_ARG * (1 + len(args))
    assert counts.symbols["count_loop"] == expected_count(insns, trips)
    assert counts.total > counts.symbols["count_loop"]  # start-up code counted elsewhere
    assert list(counts.per_cpu) == [0]


def test_difference_removes_startup(loop_program):
    target, binary, insns = loop_program
    cmd = [target.qemu, "-L", target.sysroot, str(binary)]
    one, _ = icount.count(cmd, binary)
    two, _ = icount.count([*cmd, "x"], binary)
    diff = icount.difference(two, one)
    body = expected_count(insns, 2) - expected_count(insns, 1)
    assert diff.symbols["count_loop"] == TRIPS_PER_ARG * body


# A hand-written log: two TBs of 'f' (3 and 2 instructions, the second one crossing into
# 'g'), run 5 and 4 times on CPU 0 and once on CPU 1; one entry of the first TB stopped
# before it ran.
SYNTHETIC_LOG = b"""----------------
IN: f
0x00001000:  d503201f  nop
0x00001004:  d503201f  nop
0x00001008:  54000000  b.eq #0x1010

Trace 0: 0x7f0000000100 [0000000000000000/0000000000001000/00000001/00000200] f
----------------
IN: f
0x0000100c:  d503201f  nop
0x00001010:  d503201f  nop

Trace 0: 0x7f0000000200 [0000000000000000/000000000000100c/00000001/00000200] f
Trace 0: 0x7f0000000200 [0000000000000000/000000000000100c/00000001/00000200] f
Trace 0: 0x7f0000000100 [0000000000000000/0000000000001000/00000001/00000200] f
Trace 0: 0x7f0000000100 [0000000000000000/0000000000001000/00000001/00000200] f
Trace 0: 0x7f0000000200 [0000000000000000/000000000000100c/00000001/00000200] f
Trace 1: 0x7f0000000200 [0000000000000000/000000000000100c/00000001/00000200] f
Trace 0: 0x7f0000000100 [0000000000000000/0000000000001000/00000001/00000200] f
Trace 0: 0x7f0000000200 [0000000000000000/000000000000100c/00000001/00000200] f
Trace 0: 0x7f0000000100 [0000000000000000/0000000000001000/00000001/00000200] f
Stopped execution of TB chain before 0x7f0000000100 [0000000000001000] f
"""


@pytest.mark.parametrize("chunk", [1, 7, 64, len(SYNTHETIC_LOG)])
def test_parser_is_independent_of_chunking(chunk):
    symbols = icount.Symbols(starts=[0x1000, 0x1010], ends=[0x1010, 0x1020], names=["f", "g"])
    parser = icount.LogParser(symbols)
    for k in range(0, len(SYNTHETIC_LOG), chunk):
        parser.feed(SYNTHETIC_LOG[k : k + chunk])
    counts = parser.result()
    # CPU 0: TB1 5 entries - 1 stopped = 4 runs x 3; TB2 4 runs x (1 in f + 1 in g)
    assert counts.per_cpu[0] == Counter({"f": 4 * 3 + 4, "g": 4})
    assert counts.per_cpu[1] == Counter({"f": 1, "g": 1})
    assert counts.total == 22


def test_excluded_function_is_not_counted(loop_program):
    """``exclude`` keeps a function out of qemu's log (-dfilter): the total drops by exactly
    its instructions and nothing else moves."""
    target, binary, insns = loop_program
    cmd = [target.qemu, "-L", target.sysroot, str(binary)]
    full, _ = icount.count(cmd, binary)
    skipped, _ = icount.count(cmd, binary, exclude=["count_loop"])
    assert skipped.symbols["count_loop"] == 0
    assert full.total - skipped.total == expected_count(insns, TRIPS_PER_ARG)


def test_segments_cut_at_marker_symbols():
    """Every TB from a TB of a marker symbol on counts under that marker's segment."""
    log = b"\n".join(
        line[:-2] + b" g" if line.startswith(b"Trace 0: 0x7f0000000200") else line
        for line in SYNTHETIC_LOG.split(b"\n")
    )  # TB2's Trace lines name 'g': each opens a segment 'g' until TB1 ('f') runs again
    symbols = icount.Symbols(starts=[0x1000, 0x1010], ends=[0x1010, 0x1020], names=["f", "g"])
    parser = icount.LogParser(symbols, segment=rb"f|g")
    for k in range(0, len(log), 5):
        parser.feed(log[k : k + 5])
    counts = parser.result()
    # segment g: TB2's 4 runs on cpu 0 (2 instructions each); segment f: TB1's 4 runs
    # (3 each) and TB2 on cpu 1, whose Trace line still names 'f'
    assert sum(counts.per_segment["g"].values()) == 4 * 2
    assert sum(counts.per_segment["f"].values()) == 4 * 3 + 2
    assert counts.total == 22
