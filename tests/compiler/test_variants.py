"""The variants table (cnnc.host.kernels.VARIANT_ROWS) is what the C dispatch does: each
row's guard selects that ISA's kernels in its family header, and every ISA a header
selects has a row."""

import re

import pytest
from cnnc.host.cbuild import runtime_dir
from cnnc.host.kernels import VARIANT_ROWS


def selection_blocks(family: str) -> dict[str, str]:
    """isa -> guard of the #if/#elif chain that maps cnnc_<family>_* to their variants."""
    text = (runtime_dir() / "include" / f"cnnc_{family}.h").read_text()
    found = {}
    for guard, body in re.findall(r"#(?:el)?if (.+)\n((?:#define .+\n)+)", text):
        for isa in set(re.findall(rf"#define cnnc_{family}_\w+ cnnc_{family}_\w+__(\w+)", body)):
            found[isa] = guard.strip()
    return found


@pytest.mark.parametrize("family", ["s8", "b1"])
def test_rows_match_the_header_selection(family):
    rows = {v.isa: v.guard for v in VARIANT_ROWS if v.family == family}
    header = {isa: guard for isa, guard in selection_blocks(family).items() if isa != "ref"}
    assert rows == header, f"cnnc_{family}.h selects {header}, VARIANT_ROWS say {rows}"
