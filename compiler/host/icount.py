"""Exact dynamic instruction counts of a program under qemu, per ELF symbol.

qemu translates guest code into translation blocks (TBs). With ``-d in_asm`` it prints each
TB's guest instructions once, when it translates it; with ``-d exec,nochain`` it prints one
``Trace`` line each time a TB starts, and never chains TBs past that line. So

    instructions executed = sum over TBs of (instructions in the TB) x (its Trace lines)

which is exact for user-mode programs (a TB only ends early on a fault, which kills the
process). On an emulated Cortex-M board an interrupt can only be taken between TBs, so the
count stays exact there too, apart from an instruction that faults mid-TB (not counted
off). The log of a 10^9-instruction run is several GB, so qemu writes it into a FIFO
(``-D``) that this module parses as a stream, never to a file on disk.

Parsing speed: ``Trace`` lines of the same TB are byte-identical, so a chunk of the stream
without any translation in it is counted by ``collections.Counter`` in C; only chunks that
hold ``IN:`` blocks are walked line by line, to bind each TB's Trace line to the
instructions of its translation. Each instruction of a TB is attributed to the ELF symbol
(``nm``) that contains its address, so a TB that falls through into the next function is
split correctly.

A Trace line is ``Trace <cpu>: <host ptr> [<cs_base>/<pc>/<flags>/<cflags>] <symbol>``;
per CPU index (one per thread under qemu-user) the counts are kept apart, which gives the
instruction balance of a threaded run. ``Stopped execution of TB chain before <ptr> [pc]``
marks a TB that was entered but did not run (an exit request): its count is taken back.

Start-up cost (loader, libc, reading weights) is removed by the caller: count the program
on 2 inputs and on 1, and subtract (``difference``), as ``count_runner`` does.

    python -m cnnc.host.icount [--elf ELF] [--top N] -- qemu-aarch64 ./prog args
"""

from __future__ import annotations

import argparse
import bisect
import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ToolchainError

LOG_FLAGS = "in_asm,exec,nochain"
F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ, named in the module only from Python 3.10 on Linux
CHUNK_BYTES = 1 << 22
LAYER_SEGMENTS = rb"layer[0-9]+"  # model.c's static per-layer functions
UNKNOWN = "?"  # instructions outside every ELF symbol (e.g. the vDSO, a PLT stub)

TRACE_RE = re.compile(rb"^Trace (\d+): (0x[0-9a-f]+) \[[0-9a-f]+/([0-9a-f]+)/")
STOPPED_RE = re.compile(rb"^Stopped execution of TB chain before (0x[0-9a-f]+) \[([0-9a-f]+)\]")
INSN_RE = re.compile(rb"^0x([0-9a-f]+):")


@dataclass
class Symbols:
    """Function symbols of an ELF, sorted by address: ``find(addr)`` names the one holding it."""

    starts: list[int]
    ends: list[int]
    names: list[str]

    def span(self, name: str) -> tuple[int, int]:
        k = self.names.index(name)
        return self.starts[k], self.ends[k]

    def find(self, addr: int) -> str:
        k = bisect.bisect_right(self.starts, addr) - 1
        if k >= 0 and addr < self.ends[k]:
            return self.names[k]
        return UNKNOWN


def nm_for(elf: str | Path) -> str:
    """The nm that reads this ELF: the cross binutils' for ARM, else the host's."""
    head = Path(elf).read_bytes()[:20]
    if head[:4] != b"\x7fELF":
        raise ToolchainError(f"{elf}: not an ELF file")
    machine = int.from_bytes(head[18:20], "little")
    candidates = {183: ["aarch64-linux-gnu-nm"], 40: ["arm-none-eabi-nm", "arm-linux-gnueabihf-nm"]}
    for tool in [*candidates.get(machine, []), "nm"]:
        if shutil.which(tool):
            return tool
    raise ToolchainError(f"{elf}: no nm found for ELF machine {machine} (install binutils)")


def read_symbols(elf: str | Path) -> Symbols:
    """Sized text symbols of ``elf`` (``nm -S``); the Thumb bit of ARM addresses is cleared.

    An unsized text symbol (assembly, e.g. libc's memcpy) extends to the next symbol.
    """
    proc = subprocess.run([nm_for(elf), "-S", "-n", "--defined-only", str(elf)],
                          capture_output=True, text=True)  # fmt: skip
    if proc.returncode != 0:
        raise ToolchainError(f"nm {elf} failed: {proc.stderr.strip()}")
    rows = []
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "TtWw":
            rows.append((int(parts[0], 16) & ~1, int(parts[1], 16), parts[3]))
        elif len(parts) == 3 and parts[1] in "TtWw" and not parts[2].startswith("$"):
            rows.append((int(parts[0], 16) & ~1, 0, parts[2]))
    rows.sort()
    starts, ends, names = [], [], []
    for k, (start, size, name) in enumerate(rows):
        if starts and starts[-1] == start:  # aliases: keep the first name, the widest size
            ends[-1] = max(ends[-1], start + size)
            continue
        nxt = next((r[0] for r in rows[k + 1 :] if r[0] > start), start + (1 << 40))
        starts.append(start)
        ends.append(start + size if size else nxt)
        names.append(name)
    return Symbols(starts, ends, names)


@dataclass
class Count:
    """Executed instructions of one run: per symbol, and per symbol for each CPU (thread)."""

    per_cpu: dict[int, Counter] = field(default_factory=dict)
    # with a segment pattern: segment label (the marker symbol that opened it) -> symbols
    per_segment: dict[str, Counter] = field(default_factory=dict)

    @property
    def symbols(self) -> Counter:
        total = Counter()
        for counts in self.per_cpu.values():
            total.update(counts)
        return total

    @property
    def total(self) -> int:
        return sum(self.symbols.values())

    def cpu_totals(self) -> dict[int, int]:
        return {cpu: sum(c.values()) for cpu, c in sorted(self.per_cpu.items())}


def difference(more: Count, fewer: Count) -> Count:
    """``more - fewer`` per CPU and symbol (negative entries kept: they show non-determinism)."""
    out = Count()
    for cpu in set(more.per_cpu) | set(fewer.per_cpu):
        diff = Counter(more.per_cpu.get(cpu, Counter()))
        diff.subtract(fewer.per_cpu.get(cpu, Counter()))
        out.per_cpu[cpu] = Counter({k: v for k, v in diff.items() if v})
    for label in set(more.per_segment) | set(fewer.per_segment):
        diff = Counter(more.per_segment.get(label, Counter()))
        diff.subtract(fewer.per_segment.get(label, Counter()))
        out.per_segment[label] = Counter({k: v for k, v in diff.items() if v})
    return out


class LogParser:
    """Consumes qemu's in_asm/exec log in chunks; ``result()`` gives the Count.

    ``segment`` (a regex on symbol names, e.g. ``rb"layer[0-9]+"``) cuts the stream at each
    TB whose qemu symbol matches: everything until the next such TB is counted under that
    symbol's name too (a per-layer breakdown when each layer is a function that calls its
    kernels). Segments follow the stream order, so use it on single-threaded runs.
    """

    def __init__(self, symbols: Symbols, segment: bytes | None = None):
        self.symbols = symbols
        self.marker = None
        if segment is not None:
            self.marker = re.compile(rb"^Trace \d+: [^\n]* (" + segment + rb")$", re.M)
        self.segments: dict[bytes, Counter] = {b"": Counter()}  # label -> Trace/Stopped lines
        self.lines = self.segments[b""]  # the current segment's lines
        self.bound: dict[bytes, Counter] = {}  # Trace line (without cpu) -> symbol counts of its TB
        self.pending: dict[int, Counter] = {}  # pc -> symbol counts of its newest translation
        self.unbound: dict[int, Counter] = {}  # pc -> translation not yet seen running
        self.block: Counter | None = None  # the IN: block being read
        self.block_pc: int | None = None
        self.rest = b""

    def feed(self, data: bytes) -> None:
        data = self.rest + data
        cut = data.rfind(b"\n") + 1
        self.rest = data[cut:]
        chunk = data[:cut]
        if not chunk:
            return
        translating = b"IN:" in chunk
        if self.block is None and not self.pending and not translating:
            self.count_lines(chunk)
            return
        for line in chunk[:-1].split(b"\n"):  # chunk ends with a newline: no empty last line
            self.feed_line(line)
        if not translating and self.block is None:
            # translated, yet not run in the chunk after: bind by pc alone at the end
            self.unbound.update(self.pending)
            self.pending.clear()

    def count_lines(self, chunk: bytes) -> None:
        """Counts a chunk of Trace lines (no translation in it), cut at segment markers."""
        pos = 0
        for found in self.marker.finditer(chunk) if self.marker else ():
            self.lines.update(chunk[pos : found.start()].split(b"\n"))
            self.lines = self.segments.setdefault(found.group(1), Counter())
            pos = found.start()
        self.lines.update(chunk[pos:].split(b"\n"))

    def feed_line(self, line: bytes) -> None:
        if self.block is not None:
            insn = INSN_RE.match(line)
            if insn:
                addr = int(insn.group(1), 16)
                self.block_pc = addr if self.block_pc is None else self.block_pc
                self.block[self.symbols.find(addr)] += 1
                return
            if self.block_pc is None and not line.startswith((b"IN:", b"Trace", b"Stopped")):
                return  # a header line before the first instruction
            if self.block_pc is not None:  # a blank line or any other record ends the block
                self.pending[self.block_pc] = self.block
            self.block, self.block_pc = None, None
        if line.startswith(b"IN:"):
            self.block, self.block_pc = Counter(), None
            return
        if line.startswith(b"Trace "):
            if self.marker and (found := self.marker.match(line)):
                self.lines = self.segments.setdefault(found.group(1), Counter())
            self.lines[line] += 1
            key = trace_key(line)
            if key is not None and key[1] in self.pending:
                self.bound[key[0]] = self.pending.pop(key[1])
        elif line.startswith(b"Stopped"):
            self.lines[line] += 1

    def result(self) -> Count:
        if self.rest:
            self.feed(b"\n")
        out = Count()
        for label, lines in self.segments.items():
            segment = out.per_segment.setdefault(label.decode(), Counter())
            for cpu, counts in self.count_segment(lines).items():
                out.per_cpu.setdefault(cpu, Counter()).update(counts)
                segment.update(counts)
        if self.marker is None:
            out.per_segment.clear()
        return out

    def count_segment(self, lines: Counter) -> dict[int, Counter]:
        """Per CPU, the symbols' instructions of one segment's Trace lines."""
        out: dict[int, Counter] = {}
        stopped = Counter()  # (host ptr, pc) -> TB entries that did not run
        for line, times in lines.items():
            found = STOPPED_RE.match(line)
            if found:
                stopped[(found.group(1), int(found.group(2), 16))] += times
        for line, times in lines.items():
            found = TRACE_RE.match(line)
            if not found:
                continue
            cpu, ptr, pc = int(found.group(1)), found.group(2), int(found.group(3), 16)
            times -= stopped.pop((ptr, pc), 0)
            tb = self.bound.get(trace_key(line)[0]) or self.unbound.get(pc)
            if tb is None:
                raise ToolchainError(f"qemu log: TB at pc 0x{pc:x} executed but never translated")
            counts = out.setdefault(cpu, Counter())
            for name, n in tb.items():
                counts[name] += n * times
        return out


def trace_key(line: bytes) -> tuple[bytes, int] | None:
    """(the line without its CPU index, the TB's guest pc) of a Trace line."""
    found = TRACE_RE.match(line)
    if found is None:
        return None
    return line[line.index(b":") :], int(found.group(3), 16)


def dfilter(symbols: Symbols, exclude: list[str]) -> str:
    """A qemu ``-dfilter`` of every address except the named functions': their TBs are
    neither logged nor counted (e.g. the weight blob's CRC, 10^8 instructions at start-up)."""
    spans = sorted(symbols.span(name) for name in exclude if name in symbols.names)
    ranges, pos = [], 0
    for start, end in spans:
        if start > pos:
            ranges.append(f"0x{pos:x}..0x{start - 1:x}")
        pos = max(pos, end)
    ranges.append(f"0x{pos:x}..0x{(1 << 64) - 1:x}")
    return ",".join(ranges)


def _drain(fifo: str, parser: LogParser, errors: list) -> None:
    try:
        with open(fifo, "rb", buffering=0) as log:
            try:  # a bigger pipe: fewer wake-ups of this thread and of qemu
                fcntl.fcntl(log.fileno(), F_SETPIPE_SZ, 1 << 20)
            except OSError:
                pass
            while data := log.read(CHUNK_BYTES):
                parser.feed(data)
    except Exception as err:  # reported by count() after the run
        errors.append(err)


def count(
    cmd: list[str],
    elf: str | Path,
    stdin: bytes | None = None,
    cwd: str | Path | None = None,
    timeout: float | None = None,
    segment: bytes | None = None,
    exclude: list[str] = (),
) -> tuple[Count, bytes]:
    """Runs ``cmd`` (``cmd[0]`` a qemu binary: qemu-aarch64, qemu-arm, qemu-system-arm) with
    in_asm/exec logging into a FIFO; returns (instruction counts per symbol of ``elf``, stdout).

    ``segment``: see ``LogParser``; ``exclude``: functions left out of the log and the count.
    Raises ToolchainError if the program fails (non-zero exit) or qemu cannot be found.
    """
    if shutil.which(cmd[0]) is None:
        raise ToolchainError(f"'{cmd[0]}' not found; install Debian package qemu-user")
    symbols = read_symbols(elf)
    parser = LogParser(symbols, segment)
    log_filter = ["-dfilter", dfilter(symbols, list(exclude))] if exclude else []
    errors: list = []
    with tempfile.TemporaryDirectory(prefix="cnnc-icount-") as tmp:
        fifo = os.path.join(tmp, "qemu.log")
        os.mkfifo(fifo)
        reader = threading.Thread(target=_drain, args=(fifo, parser, errors), daemon=True)
        reader.start()
        full = [cmd[0], "-d", LOG_FLAGS, "-D", fifo, *log_filter, *cmd[1:]]
        proc = subprocess.Popen(full, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, cwd=cwd)  # fmt: skip
        try:
            out, err = proc.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise ToolchainError(f"{' '.join(cmd)}: no result after {timeout} s") from None
        finally:
            # if qemu died before opening the log, the reader still waits in open(): release it
            if reader.is_alive():
                try:
                    os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
                except OSError:
                    pass
            reader.join()
    if errors:
        raise errors[0]
    if proc.returncode != 0:
        raise ToolchainError(
            f"{' '.join(cmd)}: exit status {proc.returncode}: {err.decode(errors='replace')}"
        )
    return parser.result(), out


# ------------------------------------------------------------------------- cnnc output folders


def runner_command(out_dir: str | Path, target_name: str, binary: Path, args: list[str]):
    """(qemu command, cwd, stdin-is-file) to run a folder's runner on a Linux or MCU target."""
    from .cross import runner_args
    from .targets import QEMU_SYSTEM, check_toolchain

    target = check_toolchain(target_name, run=True)
    args = runner_args(out_dir, args)
    if target.board:
        argv = ["runner", *args, "-i", "in.f32", "-o", "out.bin"]
        config = ",".join(["enable=on", "target=native",
                           *(f"arg={a.replace(',', ',,')}" for a in argv)])  # fmt: skip
        return [QEMU_SYSTEM, "-M", target.board, "-nographic", "-monitor", "none",
                "-semihosting-config", config, "-kernel", str(binary)], True  # fmt: skip
    if not target.qemu:
        raise ToolchainError(f"target {target_name}: native, no qemu to count instructions")
    return [target.qemu, "-L", target.sysroot, str(binary), *args], False


def count_runner(out_dir: str | Path, target_name: str, x, args=(), **kwargs) -> Count:
    """Instructions of one inference of the folder's runner on sample ``x`` (one sample):
    the run on two copies of ``x`` minus the run on one, so start-up and weight loading
    cancel out. ``args`` go to the runner (e.g. ``["--layers", "3"]``); ``kwargs`` to
    ``count`` (``segment``, ``exclude``)."""
    one = np.ascontiguousarray(x, dtype="<f4").tobytes()
    two = run_counted(out_dir, target_name, one * 2, args, **kwargs)
    return difference(two, run_counted(out_dir, target_name, one, args, **kwargs))


def run_counted(out_dir, target_name: str, samples: bytes, args=(), **kwargs) -> Count:
    """One counted run of the folder's runner on ``samples`` (see ``count`` for kwargs)."""
    from .cross import build_program

    binary = build_program(out_dir, target_name)
    cmd, on_board = runner_command(out_dir, target_name, binary, list(args))
    if not on_board:
        return count(cmd, binary, stdin=samples, **kwargs)[0]
    with tempfile.TemporaryDirectory(prefix="cnnc-mcu-") as tmp:
        Path(tmp, "in.f32").write_bytes(samples)
        return count(cmd, binary, cwd=tmp, **kwargs)[0]


# The runner enters cnnc_model_run, which calls layer0 .. layerN-1 from a loop: a segment
# per layer function, and one for the run function's own code (before, between, after).
RUN_SEGMENTS = rb"layer[0-9]+|cnnc_model_run"
STARTUP_SKIP = ("cnnc_crc32",)  # weight blob check at init: not part of an inference


def count_layers(out_dir: str | Path, target_name: str, x) -> dict[int, Counter]:
    """Instructions of one inference per layer: {layer index: symbols}, from one run.

    The stream is cut where a generated ``layerN`` function starts; the layer's kernels and
    everything they call count under N. The run function's loop between layers (a few
    instructions each) and start-up are left out; so is the blob's CRC, not even logged.
    """
    one = np.ascontiguousarray(x, dtype="<f4").tobytes()
    counted = run_counted(out_dir, target_name, one, segment=RUN_SEGMENTS, exclude=STARTUP_SKIP)
    layers = {}
    for label, counts in counted.per_segment.items():
        if label.startswith("layer"):
            layers[int(label[5:])] = counts
    return dict(sorted(layers.items()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m cnnc.host.icount",
        description="Count executed instructions per ELF symbol of a program under qemu.",
    )
    ap.add_argument("--elf", help="the ELF to take symbols from (default: first file in cmd)")
    ap.add_argument("--top", type=int, default=25, help="print the N biggest symbols")
    ap.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="SYMBOL",
        help="leave this function out of the log and the count (repeatable)",
    )
    ap.add_argument(
        "--segment",
        metavar="REGEX",
        help="also count per segment, cut where a function matching REGEX starts",
    )
    ap.add_argument("cmd", nargs=argparse.REMAINDER, help="-- qemu-aarch64 ./program args...")
    opts = ap.parse_args(argv)
    cmd = opts.cmd[1:] if opts.cmd[:1] == ["--"] else opts.cmd
    if not cmd:
        ap.error("give the qemu command after --")
    elf = opts.elf or next((a for a in cmd[1:] if Path(a).is_file()), None)
    if elf is None:
        ap.error("no ELF found in the command; pass --elf")
    stdin = None if sys.stdin.isatty() else sys.stdin.buffer.read()
    segment = opts.segment.encode() if opts.segment else None
    result, _ = count(cmd, elf, stdin=stdin, segment=segment, exclude=opts.exclude)
    total = result.total
    print(f"{total} instructions executed; per cpu: {result.cpu_totals()}")
    for name, n in result.symbols.most_common(opts.top):
        print(f"{n:>14} {100 * n / max(total, 1):6.2f}%  {name}")
    for label, counts in result.per_segment.items():
        print(f"{sum(counts.values()):>14}          segment {label or '(start)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
