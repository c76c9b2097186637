"""cnnc.host.mcu_trace.parse_trace on a hand-written qemu ``in_asm,exec,nochain`` log (the
format qemu-system-arm prints): instructions per layer, the mnemonic histogram and the
Cortex-M4 cycle model (class costs from the module docstring, plus P = 2 for each block
that does not fall through into the next executed one)."""

from cnnc.host.mcu_trace import M4_PIPELINE_REFILL, m4_cycles, parse_trace

LOG = """\
----------------
IN: run_layers_from
0x00008000:  b510       push     {r4, lr}
0x00008002:  f000 f80d  bl       #0x8020

Trace 0: 0x7f0000000000 [00800400/00008000/00000010/ff000200] run_layers_from
----------------
IN: layer0
0x00008020:  e9d1 2300  ldrd     r2, r3, [r1]
0x00008024:  fb22 0003  smlad    r0, r2, r3, r0
0x00008028:  3901       subs     r1, #1
0x0000802a:  d1f9       bne      #0x8020

Trace 0: 0x7f0000000100 [00800400/00008020/00000010/ff000200] layer0
Trace 0: 0x7f0000000100 [00800400/00008020/00000010/ff000200] layer0
----------------
IN: layer0
0x0000802c:  f851 3b04  ldr      r3, [r1], #4
0x00008030:  bd10       pop      {r4, pc}

Trace 0: 0x7f0000000200 [00800400/0000802c/00000010/ff000200] layer0
----------------
IN: run_layers_from
0x00008004:  4770       bx       lr

Trace 0: 0x7f0000000300 [00800400/00008004/00000010/ff000200] run_layers_from
"""


def test_instruction_classes_follow_the_stated_m4_table():
    assert m4_cycles("smlad", "r0, r2, r3, r0") == 1
    assert m4_cycles("smlal", "r0, r1, r2, r3") == 1
    assert m4_cycles("ldr.w", "r3, [r5, fp]") == 2
    assert m4_cycles("ldrbne", "r1, [r2]") == 2
    assert m4_cycles("strd", "r1, r2, [r3]") == 3
    assert m4_cycles("push", "{r4, r5, r6, lr}") == 5
    assert m4_cycles("sdiv", "r0, r1, r2") == 7
    assert m4_cycles("lsls", "r1, r1, #2") == 1


def test_parse_trace_counts_instructions_and_cycles_per_layer():
    count = parse_trace(LOG.splitlines(keepends=True))
    # layer 0: the 4-instruction loop block twice, then the 2-instruction exit block
    assert count.layers == {0: 4 + 4 + 2}
    assert count.outside == 2 + 1
    assert count.histogram["smlad"] == 2 and count.histogram["pop"] == 1
    loop = 3 + 1 + 1 + 1  # ldrd, smlad, subs, bne
    tail = 2 + (1 + 2)  # ldr, pop {r4, pc}
    # the loop block branched back once (taken) and fell through once into the tail; the
    # tail returned into the run loop (taken)
    assert count.cycles == {0: 2 * loop + tail + 2 * M4_PIPELINE_REFILL}
