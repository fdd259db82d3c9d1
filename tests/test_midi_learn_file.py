"""MIDI learn writes the config file as the user keeps it: permissions, symlinks, unwritable folders.

Real files in tmp_path. The tests run as root, who may write into any folder whatever its mode, so an
unwritable folder is made two ways that hold for root too:
- a config path whose "folder" is a regular file (no file can ever be created under it), in-process;
- a real 0555 folder, written by a child process that runs without CAP_DAC_OVERRIDE (and
  CAP_DAC_READ_SEARCH): `setpriv --bounding-set -dac_override,-dac_read_search`, so root obeys the
  folder's mode as any user does (no mount or chattr needed). Not root: the child simply runs as is.
"""

from __future__ import annotations

import argparse
import os
import queue
import stat
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import mido
import pytest
from conftest import REPO
from waiting import next_item

from bridge.adapters.midi_mido import MidiInput
from bridge.app.midi_wiring import MidiLearn, save_mapping
from bridge.commands import midi_learn
from bridge.core.errors import ConfigError
from bridge.core.events import ControlEvent, SetOverride
from bridge.core.midi_mapping import Binding, MidiMapping

MAPPING = MidiMapping().bind("volume", Binding("cc", 21))
CONFIG = '[osc]\ntargets = ["127.0.0.1:9100"]\n[midi]\ninput = "nano"\n'


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def saved_volume(path: Path) -> str:
    return tomllib.loads(path.read_text())["midi"]["mapping"]["volume"]


def a_config(path: Path, mode: int = 0o644) -> Path:
    """CONFIG written at `path` (its folder made) with this mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(CONFIG)
    path.chmod(mode)
    return path


# -- permissions ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o664])
def test_the_config_keeps_its_permissions(tmp_path: Path, mode: int):
    path = a_config(tmp_path / "config.toml", mode)
    save_mapping(path, MAPPING)
    assert mode_of(path) == mode and saved_volume(path) == "cc 21"
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]


def test_a_new_config_is_0644(tmp_path: Path):
    path = tmp_path / "pict2audio" / "config.toml"
    save_mapping(path, MAPPING)
    assert mode_of(path) == 0o644 and saved_volume(path) == "cc 21"


# -- symlinks ------------------------------------------------------------------------------------------


def test_a_symlinked_config_is_followed_and_the_link_kept(tmp_path: Path):
    real = a_config(tmp_path / "dotfiles" / "pict2audio.toml", 0o600)
    dotfiles = real.parent
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    link = config_dir / "config.toml"
    link.symlink_to(Path("..") / "dotfiles" / "pict2audio.toml")  # relative, as dotfile managers make them
    save_mapping(link, MAPPING)
    assert link.is_symlink() and os.readlink(link) == str(Path("..") / "dotfiles" / "pict2audio.toml")
    assert saved_volume(real) == "cc 21" and tomllib.loads(real.read_text())["osc"]["targets"] == ["127.0.0.1:9100"]
    assert mode_of(real) == 0o600
    assert sorted(p.name for p in dotfiles.iterdir()) == ["pict2audio.toml"]  # no temp file left
    assert sorted(p.name for p in config_dir.iterdir()) == ["config.toml"]


def test_a_chain_of_links_and_a_dangling_link_are_followed(tmp_path: Path):
    real = tmp_path / "real.toml"
    middle = tmp_path / "middle.toml"
    link = tmp_path / "config.toml"
    middle.symlink_to(real)
    link.symlink_to(middle)
    save_mapping(link, MAPPING)  # real.toml does not exist yet: the link's target is created
    assert link.is_symlink() and middle.is_symlink() and saved_volume(real) == "cc 21"


def test_a_symlink_loop_is_a_clear_error(tmp_path: Path):
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.symlink_to(b)
    b.symlink_to(a)
    with pytest.raises(ConfigError, match="cannot follow its symlinks"):
        save_mapping(a, MAPPING)


# -- a folder that cannot be written --------------------------------------------------------------------


def test_a_folder_that_is_a_regular_file_is_named_with_what_to_do(tmp_path: Path):
    not_a_folder = tmp_path / "settings"
    not_a_folder.write_text("a file, not a folder")
    for path in (not_a_folder / "config.toml", not_a_folder / "pict2audio" / "config.toml"):
        with pytest.raises(ConfigError) as caught:
            save_mapping(path, MAPPING)
        message = str(caught.value)
        assert message.startswith(f"cannot save the MIDI mapping to {path}: the folder {path.parent} cannot be "
                                  "written ("), message
        assert f"make {path.parent} a writable folder, or start with --config FILE in a writable folder" in message
    assert not_a_folder.read_text() == "a file, not a folder"


CHILD = textwrap.dedent("""
    import queue
    import sys
    from pathlib import Path

    import mido

    from bridge.adapters.midi_mido import MidiInput
    from bridge.app.midi_wiring import MidiLearn, save_mapping
    from bridge.core.midi_mapping import Binding, MidiMapping
    from bridge.core.errors import ConfigError

    path = Path(sys.argv[1])
    try:
        save_mapping(path, MidiMapping().bind("volume", Binding("cc", 21)))
    except ConfigError as exc:
        print("save_mapping:", exc)
    posted = queue.Queue()
    midi = MidiInput("memory", post=posted.put)
    learn = MidiLearn(midi, path, notify=lambda text: print("HUD:", text))
    learn.arm("volume")
    controller = mido.ports.EchoPort(name="memory")  # what the controller sends, the input reads
    midi.attach(controller)
    controller.send(mido.Message("control_change", control=22, value=100))  # bound, not saved
    controller.send(mido.Message("control_change", control=22, value=0))  # and in use at once
    print("posted:", [posted.get(timeout=10)])
    midi.close()
""")


def test_a_read_only_folder_is_named_and_midi_learn_goes_on(tmp_path: Path):
    path = a_config(tmp_path / "locked" / "config.toml")
    folder = path.parent
    folder.chmod(0o555)
    without_override = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]
    command = [*(without_override if os.geteuid() == 0 else []), sys.executable, "-c", CHILD, str(path)]
    try:
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
    finally:
        folder.chmod(0o755)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    expected = (f"cannot save the MIDI mapping to {path}: the folder {folder} cannot be written (Permission denied); "
                f"make {folder} a writable folder, or start with --config FILE in a writable folder "
                "(an empty file will do)")
    assert lines[0] == f"save_mapping: {expected}", done.stdout
    assert lines[1] == "HUD: MIDI learn: move a control for volume"
    assert lines[2] == f"HUD: MIDI learn: volume = cc 22 in use, NOT saved: {expected}", done.stdout
    assert lines[3] == "posted: [SetOverride(t_ms=None, head='volume', value='low')]", done.stdout
    assert path.read_text() == CONFIG and [p.name for p in folder.iterdir()] == ["config.toml"]


def test_midi_learn_in_the_canvas_notifies_and_the_session_goes_on(tmp_path: Path):
    not_a_folder = tmp_path / "settings"
    not_a_folder.write_text("")
    posted: queue.Queue[ControlEvent] = queue.Queue()
    shown: queue.Queue[str] = queue.Queue()
    midi = MidiInput("memory", post=posted.put)
    learn = MidiLearn(midi, not_a_folder / "config.toml", notify=shown.put)
    learn.arm("volume")
    controller = mido.ports.EchoPort(name="memory")  # what the controller sends, the input reads
    midi.attach(controller)
    try:
        controller.send(mido.Message("control_change", control=22, value=100))
        learned = next_item(shown, lambda text: text.startswith("MIDI learn: volume ="), timeout_s=10)
        assert learned is not None and learned.startswith(
            "MIDI learn: volume = cc 22 in use, NOT saved: cannot save the MIDI mapping"), learned
        assert f"the folder {not_a_folder} cannot be written" in learned
        controller.send(mido.Message("control_change", control=22, value=127))
        assert posted.get(timeout=10) == SetOverride(head="volume", value="high")  # the learning move posted nothing
        assert posted.empty()
    finally:
        midi.close()


def test_headless_midi_learn_reports_an_unwritable_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    not_a_folder = tmp_path / "settings"
    not_a_folder.write_text("")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(not_a_folder))  # the default config: settings/pict2audio/config.toml
    monkeypatch.setattr(MidiInput, "open", lambda self: setattr(self, "port_name", "memory") or True)
    arm = MidiInput.arm

    def arm_then_move(self: MidiInput, target: str | None) -> None:  # a control moved as soon as armed
        arm(self, target)
        self._on_message(mido.Message("control_change", control=22, value=100))

    monkeypatch.setattr(MidiInput, "arm", arm_then_move)
    args = argparse.Namespace(target="volume", midi_in="memory", midi_backend=None, config=None, timeout_s=5.0,
                              command="midi-learn")
    with pytest.raises(ConfigError, match=f"the folder {not_a_folder / 'pict2audio'} cannot be written"):
        midi_learn.run(args)
