"""`pip install .`: a wheel with the runtime package and its models, a `pict2audio` command that is the same
CLI as run_bridge.py, TensorFlow only in the `train` extra, and no benchmarks or tests."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from conftest import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                    str(REPO)], check=True, capture_output=True, text=True, timeout=300)
    (built,) = out.glob("pict2audio_bridge-*.whl")
    return built


def test_the_wheel_holds_the_runtime_package_and_its_models_only(wheel: Path):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names if not name.startswith("pict2audio_bridge-")}
    assert tops == {"bridge"}, tops
    for model in ("bridge/models/image/model.tflite", "bridge/models/image/metadata.json",
                  "bridge/models/sound/sound_cnn.tflite", "bridge/models/sound/sound_cnn.json"):
        assert model in names, model
    assert "bridge/core/engine.py" in names and "bridge/ui/canvas_app.py" in names


def test_tensorflow_is_only_in_the_train_extra(wheel: Path):
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        requires = [line for line in archive.read(metadata).decode().splitlines() if line.startswith("Requires-Dist:")]
        entry_points = archive.read(metadata.replace("METADATA", "entry_points.txt")).decode()
    tensorflow = [line for line in requires if "tensorflow" in line]
    assert tensorflow and all('extra == "train"' in line for line in tensorflow), tensorflow
    assert any(line.startswith("Requires-Dist: pygame") for line in requires)
    assert "pict2audio = bridge.cli:main" in entry_points


def test_the_installed_command_classifies_with_the_packaged_model(wheel: Path, tmp_path: Path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, system_site_packages=True, with_pip=False)
    python = env_dir / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)],
                   check=True, capture_output=True, text=True, timeout=300)
    command = env_dir / "bin" / "pict2audio"
    version = subprocess.run([str(command), "--version"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.split() == ["pict2audio", "0.1.0"], version
    found = subprocess.run([str(python), "-c", "import bridge.adapters.resources as r; print(r.models_dir())"],
                           capture_output=True, text=True, timeout=60, cwd=tmp_path, check=True)
    assert Path(found.stdout.strip()).is_relative_to(env_dir), found.stdout  # not the checkout's models/
    drawing = REPO / "data" / "drawings" / "melody.png"
    installed = subprocess.run([str(command), "classify", str(drawing), "--json"], capture_output=True, text=True,
                               timeout=120, cwd=tmp_path)
    checkout = subprocess.run([sys.executable, "run_bridge.py", "classify", str(drawing), "--json"],
                              capture_output=True, text=True, timeout=120, cwd=REPO)
    assert installed.returncode == 0, installed.stderr[-2000:]
    assert json.loads(installed.stdout) == json.loads(checkout.stdout)
