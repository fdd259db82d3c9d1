"""A broken model folder gives one ModelError (file, problem, retrain command), never a traceback.

Copies of the committed image and sound models are broken in tmp_path in every way a file can be:
truncated, corrupted, empty, another kind of file under the model's name, metadata that is not JSON,
of the wrong JSON type, or lacking a key. Both models go through one loader (bridge.adapters.litert_model).
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

from bridge import cli
from bridge.adapters import image_classifier, sound_classifier
from bridge.adapters.litert_model import LiteRTRunner
from bridge.core.errors import ModelError

PNG_BYTES = (REPO / "models" / "image" / "confusion_volume.png").read_bytes()
LFS_POINTER = b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"0" * 64 + b"\nsize 128340\n"


def _flip_middle(data: bytes) -> bytes:
    """64 bytes inverted in the middle of the weights: the flatbuffer stays valid, the numbers do not."""
    middle = len(data) // 2
    return data[:middle] + bytes(b ^ 0xFF for b in data[middle : middle + 64]) + data[middle + 64 :]


# name -> (break the .tflite bytes, what the error must say)
BROKEN_MODELS: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "empty": (lambda b: b"", r"is empty \(0 bytes\)"),
    "truncated": (lambda b: b[: len(b) // 2], r"sha256 .* \(\d+ bytes\), but .* says|not a usable LiteRT model "
                                              r"\(LiteRT: .*\): truncated, corrupted or not a model"),
    "random bytes": (lambda b: np.random.default_rng(0).bytes(len(b)), r"is not a LiteRT model \(expected"),
    "corrupted weights": (_flip_middle, r"has sha256 .* but .* says .*truncated, corrupted or replaced"),
    "a PNG renamed": (lambda b: PNG_BYTES, r"is not a LiteRT model .*got a PNG image"),
    "a Git LFS pointer": (lambda b: LFS_POINTER, r"Git LFS pointer"),
}


def _set(meta: dict, keys: tuple[str, ...], value: object) -> dict:
    out = json.loads(json.dumps(meta))
    target = out
    for key in keys[:-1]:
        target = target[key]
    target[keys[-1]] = value
    return out


def _drop(meta: dict, key: str) -> dict:
    return {k: v for k, v in meta.items() if k != key}


# name -> (metadata text from (committed metadata, where it keeps the input shape), what the error must say)
BROKEN_METADATA: dict[str, tuple[Callable[[dict, tuple[str, ...]], str | bytes], str]] = {
    "empty": (lambda m, s: "", r"is empty \(0 bytes\)"),
    "not JSON": (lambda m, s: "classes: pitch, volume\n", r"is not valid JSON \(Expecting value at line 1"),
    "truncated JSON": (lambda m, s: json.dumps(m)[:200], r"is not valid JSON"),
    "binary": (lambda m, s: PNG_BYTES, r"is not JSON text .*PNG image"),
    "an array": (lambda m, s: "[1, 2, 3]", r"holds a JSON array, expected a JSON object"),
    "classes a string": (lambda m, s: json.dumps({**m, "classes": "abc"}),
                         r"classes is a JSON string \('abc'\), expected a JSON object"),
    "pitch classes a string": (lambda m, s: json.dumps(_set(m, ("classes", "pitch"), "abc")),
                               r"classes\.pitch is a JSON string"),
    "missing classes": (lambda m, s: json.dumps(_drop(m, "classes")), r"the key 'classes' is missing"),
    "missing preprocessing version": (lambda m, s: json.dumps(_drop(m, "preprocessing_version")),
                                      r"the key 'preprocessing_version' is missing"),
    "input shape of strings": (lambda m, s: json.dumps(_set(m, s, ["96", "101", "1"])),
                               r"shape is \['96', '101', '1'\], expected \["),
    "input shape a number": (lambda m, s: json.dumps(_set(m, s, 5)),
                             r"shape is a JSON integer \(5\), expected a JSON array"),
    "sha256 not a string": (lambda m, s: json.dumps({**m, "model_sha256": 12}),
                            r"model_sha256 is a JSON integer \(12\), expected a JSON string"),
    "sha256 of another file": (lambda m, s: json.dumps({**m, "model_sha256": "ab" * 32}),
                               r"has sha256 .* but .* says abababab"),
}


@dataclass(frozen=True)
class Model:
    """One of the two models: its files, where its metadata keeps the input shape, its committed folder,
    its loader and its retrain command."""

    model_file: str
    metadata_file: str
    shape_key: tuple[str, ...]
    committed: Path
    load: Callable[[Path], object]
    retrain: str

    def copy_to(self, folder: Path) -> Path:
        """The committed model and metadata in `folder`."""
        folder.mkdir(parents=True, exist_ok=True)
        model = (self.committed / self.model_file).read_bytes()
        meta = json.loads((self.committed / self.metadata_file).read_text())
        (folder / self.model_file).write_bytes(model)
        (folder / self.metadata_file).write_text(json.dumps(meta))
        return folder


IMAGE = Model("model.tflite", "metadata.json", ("input", "shape"), image_classifier.DEFAULT_MODEL_DIR,
              image_classifier.load_image_classifier, "python run_bridge.py train-image")
SOUND = Model("sound_cnn.tflite", "sound_cnn.json", ("input_shape",), sound_classifier.MODEL_DIR,
              sound_classifier.SoundClassifier, "python run_bridge.py train-sound")
MODELS = {"image": IMAGE, "sound": SOUND}


def write(path: Path, content: str | bytes) -> None:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)


def assert_one_model_error(model: Model, folder: Path, broken: Path, pattern: str) -> None:
    with pytest.raises(ModelError) as caught:
        model.load(folder)
    message = str(caught.value)
    assert message.startswith(f"{broken}: "), message  # names the file
    assert f"; train it with: {model.retrain}" in message, message
    assert "\n" not in message, message
    assert re.search(pattern, message), (pattern, message)


@pytest.mark.parametrize("model_name", MODELS)
@pytest.mark.parametrize("kind", BROKEN_MODELS)
def test_a_broken_model_file_gives_one_model_error(tmp_path, model_name, kind):
    model = MODELS[model_name]
    folder = model.copy_to(tmp_path / "model")
    breaker, pattern = BROKEN_MODELS[kind]
    path = folder / model.model_file
    path.write_bytes(breaker(path.read_bytes()))
    assert_one_model_error(model, folder, path, pattern)


@pytest.mark.parametrize("model_name", MODELS)
@pytest.mark.parametrize("kind", BROKEN_METADATA)
def test_broken_metadata_gives_one_model_error(tmp_path, model_name, kind):
    model = MODELS[model_name]
    folder = model.copy_to(tmp_path / "model")
    maker, pattern = BROKEN_METADATA[kind]
    meta_path = folder / model.metadata_file
    write(meta_path, maker(json.loads(meta_path.read_text()), model.shape_key))
    broken = folder / model.model_file if kind == "sha256 of another file" else meta_path
    assert_one_model_error(model, folder, broken, pattern)


@pytest.mark.parametrize("model_name", MODELS)
def test_missing_files_and_folders_name_what_is_missing(tmp_path, model_name):
    model = MODELS[model_name]
    assert_one_model_error(model, tmp_path / "nowhere", tmp_path / "nowhere", r"no .* model here \(expected a folder")
    folder = model.copy_to(tmp_path / "model")
    for name in (model.metadata_file, model.model_file):
        (folder / name).unlink()
        assert_one_model_error(model, folder, folder / name, r"is missing")
    (folder / model.model_file).mkdir()
    assert_one_model_error(model, folder, folder / model.model_file, r"is a folder, expected a file")


def test_the_image_metadata_must_hold_the_model_hash(tmp_path):
    """train-image writes model_sha256; metadata without it cannot vouch for its model file."""
    folder = IMAGE.copy_to(tmp_path / "model")
    meta_path = folder / "metadata.json"
    meta_path.write_text(json.dumps({k: v for k, v in json.loads(meta_path.read_text()).items()
                                     if k != "model_sha256"}))
    assert_one_model_error(IMAGE, folder, meta_path, r"the key 'model_sha256' is missing")


def test_the_committed_image_metadata_holds_the_hash_of_the_committed_model():
    meta = json.loads((IMAGE.committed / "metadata.json").read_text())
    assert meta["model_sha256"] == hashlib.sha256((IMAGE.committed / "model.tflite").read_bytes()).hexdigest()


def test_the_other_model_under_this_models_name_is_refused(tmp_path):
    """With the hash made to match, the input shape still tells the two models apart."""
    folder = SOUND.copy_to(tmp_path / "sound")
    image_model = (IMAGE.committed / "model.tflite").read_bytes()
    (folder / SOUND.model_file).write_bytes(image_model)
    meta_path = folder / SOUND.metadata_file
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "model_sha256": hashlib.sha256(image_model).hexdigest()}))
    assert_one_model_error(SOUND, folder, folder / SOUND.model_file,
                           r"takes input \(1, 100, 100, 3\) but its metadata says \(1, 96, 101, 1\)")


@pytest.mark.parametrize(("defaults", "pattern"), [
    ("cnn", r"default_methods is a JSON string \('cnn'\), expected a JSON object"),
    ({"timbre": "dsp"}, r"default_methods\.timbre is 'dsp', expected one of \['cnn'\]"),
    ({"loudness": "dsp"}, r"default_methods has the key 'loudness'"),
])
def test_sound_default_methods_must_name_a_method_of_each_head(tmp_path, defaults, pattern):
    folder = SOUND.copy_to(tmp_path / "model")
    meta_path = folder / SOUND.metadata_file
    meta_path.write_text(json.dumps({**json.loads(meta_path.read_text()), "default_methods": defaults}))
    assert_one_model_error(SOUND, folder, meta_path, pattern)


def test_the_training_runners_refuse_bytes_that_are_no_model():
    """predict_tflite of train-image / train-sound open exported bytes through the same runner."""
    with pytest.raises(ModelError, match=r"the image model: is not a usable LiteRT model.*train-image"):
        LiteRTRunner(PNG_BYTES, image_classifier.SPEC)
    with pytest.raises(ModelError, match=r"the sound model: is not a usable LiteRT model.*train-sound"):
        sound_classifier.LiteRTModel(PNG_BYTES)


def test_one_litert_runner_for_both_models():
    """Only bridge/adapters/litert_model.py builds a LiteRT interpreter."""
    sources = (REPO / "bridge").rglob("*.py")
    assert [p.relative_to(REPO).as_posix() for p in sources if "Interpreter(" in p.read_text()] == [
        "bridge/adapters/litert_model.py"]


# --- through the real command line and the sound bank index --------------------------------------

def broken_image_dirs(root: Path) -> dict[str, Path]:
    """One image model folder per way of breaking it."""
    folders = {}
    for kind, (breaker, _) in BROKEN_MODELS.items():
        folder = IMAGE.copy_to(root / f"model {kind}")
        path = folder / "model.tflite"
        path.write_bytes(breaker(path.read_bytes()))
        folders[f"model.tflite {kind}"] = folder
    for kind, (maker, _) in BROKEN_METADATA.items():
        folder = IMAGE.copy_to(root / f"metadata {kind}")
        write(folder / "metadata.json", maker(json.loads((folder / "metadata.json").read_text()), IMAGE.shape_key))
        folders[f"metadata.json {kind}"] = folder
    return folders


CANVAS = REPO / "models" / "image" / "confusion_volume.png"  # any image: the model fails before it is read


def test_classify_with_a_broken_model_prints_one_line_and_exits_1(tmp_path, capfd):
    """The command's own entry point (bridge.cli.main) with every broken folder: one error line on
    stderr (file descriptor 2, so LiteRT's native output would show), nothing on stdout, exit 1."""
    for kind, folder in broken_image_dirs(tmp_path).items():
        code = cli.main(["classify", str(CANVAS), "--model-dir", str(folder)])
        out, err = capfd.readouterr()
        assert code == 1 and out == "", (kind, code, out)
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {folder}/"), (kind, err)
        assert lines[0].endswith("; train it with: python run_bridge.py train-image"), (kind, lines)


@pytest.mark.parametrize(("broken", "content", "problem"), [
    ("model.tflite", PNG_BYTES, "model.tflite: is not a LiteRT model (expected the flatbuffer identifier 'TFL3' "
                                "at bytes 4-7, got a PNG image)"),
    ("metadata.json", '{"classes": "abc"}', "metadata.json: the key 'preprocessing_version' is missing"),
], ids=["png as model", "metadata lacks keys"])
def test_the_classify_command_line_with_a_broken_model(tmp_path, broken, content, problem):
    """As a user types it: `python run_bridge.py classify FILE --model-dir BROKEN`."""
    folder = IMAGE.copy_to(tmp_path / "broken")
    write(folder / broken, content)
    result = subprocess.run([sys.executable, "run_bridge.py", "classify", str(CANVAS), "--model-dir", str(folder)],
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"error: {folder}/{problem}; train it with: python run_bridge.py train-image\n"


@pytest.fixture
def audio_folder(tmp_path: Path) -> Path:
    import soundfile

    folder = tmp_path / "samples"
    folder.mkdir()
    tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(1600) / 16000)
    for i in range(48):  # enough for worker processes (soundbank_index.IN_PROCESS_BELOW)
        soundfile.write(folder / f"note{i:02}.wav", tone, 16000)
    return folder


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("broken", ["sound_cnn.tflite", "sound_cnn.json"])
def test_indexing_with_a_broken_sound_model_gives_one_model_error(tmp_path, audio_folder, workers, broken):
    """`run_bridge.py index` has no model folder option, so the index function is called with one;
    the model is checked before any worker process starts."""
    from bridge.adapters.soundbank_index import update_index

    folder = SOUND.copy_to(tmp_path / "model")
    write(folder / broken, np.random.default_rng(1).bytes(5000) if broken.endswith("tflite") else "[]")
    expected = rf"^{re.escape(str(folder / broken))}: .*; train it with: python run_bridge\.py train-sound$"
    with pytest.raises(ModelError, match=expected):
        update_index(audio_folder, index_path=tmp_path / "index.json", model_dir=folder, workers=workers)
    assert not (tmp_path / "index.json").exists()
