"""Gating of tests that need a cross toolchain or qemu, shared by every test folder.

A missing tool FAILS the test when CNNC_REQUIRE_ARM=1 (.ci/run sets it after installing
the tools), and skips it with the Debian packages to install otherwise, so a laptop
without the toolchains still runs the rest of the suite and CI never skips silently.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from cnnc.errors import ToolchainError
from cnnc.host import targets

REQUIRE_ARM = os.environ.get("CNNC_REQUIRE_ARM") == "1"

# Put in front of a compile command (or passed to a folder's make as MAKE_CCWRAP): objects are
# cached by content (tests/ccwrap.py), so the runtime every test folder copies compiles once.
CCWRAP = [sys.executable, "-S", str(Path(__file__).with_name("ccwrap.py"))]
MAKE_CCWRAP = "CCWRAP=" + " ".join(CCWRAP)


def unavailable(reason: str):
    """Fails under CNNC_REQUIRE_ARM=1 (CI), skips with the reason otherwise."""
    if REQUIRE_ARM:
        pytest.fail(f"CNNC_REQUIRE_ARM=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def require_target(name: str, run: bool = True) -> targets.Target:
    """The target if its compiler (and with ``run`` its qemu) is installed, else fail/skip."""
    try:
        return targets.check_toolchain(name, run=run)
    except ToolchainError as err:
        unavailable(str(err))
