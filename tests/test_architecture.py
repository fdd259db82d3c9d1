"""The dependency direction: bridge.core is pure (numpy + stdlib) and every command loads lazily."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO

HEAVY = ("tensorflow", "pygame", "librosa", "pythonosc", "mido", "rtmidi", "PIL", "soundfile", "ai_edge_litert",
         "zeroconf")


def imported_after(code: str) -> set[str]:
    probe = f"import sys; {code}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_core_imports_no_third_party_io_library():
    modules = imported_after("import bridge.core.engine, bridge.core.replay, bridge.core.protocol")
    core = [m for m in modules if m.startswith("bridge.core")]
    assert core, "probe imported nothing"
    loaded = {m.split(".")[0] for m in modules}
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_the_cli_parser_loads_no_heavy_library():
    modules = imported_after("import bridge.cli; bridge.cli.build_parser()")
    assert not {m.split(".")[0] for m in modules} & set(HEAVY)
