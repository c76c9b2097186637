"""README's supported-op block is exactly what cnnc.op_table generates from the importer's,
the registry's and the int8 pass's tables (regenerate: python -m cnnc.op_table README.md)."""

from pathlib import Path

from cnnc import op_table
from cnnc.ops.registry import OPS

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_op_table_is_generated():
    block = op_table.readme_block(README.read_text())
    assert block is not None, "README.md lost its op-table markers"
    assert block == op_table.markdown(), (
        "README's op table drifted: python -m cnnc.op_table README.md"
    )


def test_every_registered_op_has_a_row():
    table = op_table.markdown()
    missing = [name for name in OPS if f"| `{name}` |" not in table]
    assert not missing, missing
