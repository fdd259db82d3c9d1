"""The committed models' files, checked before use, and the one LiteRT runner both models run in.

    files = load_model_files(model_dir, SPEC)      # the .tflite bytes and its metadata, checked
    runner = LiteRTRunner(files.model_bytes, SPEC, source=files.model_path)
    probabilities = runner.run(batch)              # {head: (n, n_classes)}; run_one / run_all: see below

Every way a model folder can be broken (a missing, empty, truncated or corrupted model; another kind
of file under the model's name; metadata that is not JSON, lacks a key or holds a value of the wrong
type) ends in one ModelError that names the file, says what is wrong and gives the retrain command.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bridge.adapters.native_stderr import native_stderr_silenced
from bridge.core.errors import ModelError
from bridge.core.labels import CLASSES, HEADS

TFLITE_IDENTIFIER = b"TFL3"  # the flatbuffer file identifier of every LiteRT model, at bytes 4-7
SHA256_KEY = "model_sha256"  # metadata key: sha256 hex digest of the .tflite file the metadata describes
_HEX64 = re.compile(r"[0-9a-f]{64}")
# Known file kinds, to say what arrived instead of a model.
_SNIFFS: tuple[tuple[bytes, str], ...] = (
    (b"version https://git-lfs", "a Git LFS pointer, not the model itself (fetch it with `git lfs pull`)"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"PK\x03\x04", "a zip archive (a .keras file?)"),
    (b"{", "JSON text"),
    (b"[", "JSON text"),
)
_JSON_TYPES: dict[type, str] = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer",
                                float: "number"}


@dataclass(frozen=True)
class ModelSpec:
    """What one model's files must hold to fit this code."""

    name: str  # "image model", in messages
    model_file: str
    metadata_file: str
    retrain: str  # the command that writes a fitting model
    preprocessing_version: str
    shape_key: tuple[str, ...]  # where the metadata keeps the input shape, e.g. ("input", "shape")
    shape_ok: Callable[[list[int]], bool]
    shape_expected: str  # the shapes shape_ok accepts, in words
    sha256_required: bool  # False only while the training code does not yet write SHA256_KEY

    def error(self, path: Path | str, problem: str) -> ModelError:
        """The one error for a model file that cannot be used: the file, the problem, the fix."""
        return ModelError(f"{path}: {problem}; train it with: {self.retrain}")


@dataclass(frozen=True)
class ModelFiles:
    """A model's checked files: the .tflite bytes match the metadata's hash (when it has one)."""

    model_path: Path
    metadata_path: Path
    model_bytes: bytes
    metadata_bytes: bytes
    metadata: dict[str, Any]


def load_model_files(model_dir: Path | str, spec: ModelSpec) -> ModelFiles:
    """Read and check a model folder's .tflite and metadata; ModelError on anything unusable."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise spec.error(model_dir, f"no {spec.name} here (expected a folder with {spec.model_file} and "
                                    f"{spec.metadata_file})")
    model_path, metadata_path = model_dir / spec.model_file, model_dir / spec.metadata_file
    model_bytes = read_model_bytes(model_path, spec)
    metadata_bytes = _read_file(metadata_path, spec)
    metadata = check_metadata(parse_metadata(metadata_bytes, metadata_path, spec), metadata_path, spec)
    expected = metadata.get(SHA256_KEY)
    if expected is not None:
        check_sha256(model_bytes, expected, model_path, spec)
    return ModelFiles(model_path, metadata_path, model_bytes, metadata_bytes, metadata)


def _read_file(path: Path, spec: ModelSpec) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise spec.error(path, f"is missing (the {spec.name} needs {spec.model_file} and {spec.metadata_file})") \
            from None
    except IsADirectoryError:
        raise spec.error(path, "is a folder, expected a file") from None
    except OSError as exc:
        raise spec.error(path, f"cannot be read ({exc.strerror or exc})") from exc
    if not data:
        raise spec.error(path, "is empty (0 bytes)")
    return data


def read_model_bytes(path: Path, spec: ModelSpec) -> bytes:
    """The .tflite file's bytes, if they start like a LiteRT flatbuffer."""
    data = _read_file(path, spec)
    if data[4:8] != TFLITE_IDENTIFIER:
        raise spec.error(path, f"is not a LiteRT model (expected the flatbuffer identifier "
                               f"{TFLITE_IDENTIFIER.decode()!r} at bytes 4-7, got {_describe_bytes(data)})")
    return data


def _describe_bytes(data: bytes) -> str:
    for magic, kind in _SNIFFS:
        if data.startswith(magic):
            return kind
    return f"{len(data)} bytes starting {data[:8]!r}"


def check_sha256(model_bytes: bytes, expected: str, path: Path, spec: ModelSpec) -> None:
    """The file is the one the metadata was written for: not truncated, not corrupted, not swapped."""
    actual = hashlib.sha256(model_bytes).hexdigest()
    if actual != expected:
        raise spec.error(path, f"has sha256 {actual[:16]}... ({len(model_bytes)} bytes), but "
                               f"{spec.metadata_file} says {expected[:16]}...: the file was truncated, corrupted "
                               f"or replaced after training")


def parse_metadata(data: bytes, path: Path, spec: ModelSpec) -> object:
    """The metadata file's JSON value (of any type: check_metadata checks it)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise spec.error(path, f"is not JSON text (byte {exc.start} is not UTF-8; got "
                               f"{_describe_bytes(data)})") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise spec.error(path, f"is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from exc
    except RecursionError as exc:
        raise spec.error(path, "is not usable JSON (nested too deeply)") from exc


def check_metadata(metadata: object, path: Path | str, spec: ModelSpec) -> dict[str, Any]:
    """The metadata, if it fits this code: the preprocessing version, the classes of SPEC §1, an input
    shape this code makes and (when present or required) the model's sha256; ModelError otherwise."""
    if not isinstance(metadata, dict):
        raise spec.error(path, f"holds a JSON {_json_type(metadata)}, expected a JSON object")
    version = get_field(metadata, ("preprocessing_version",), str, path, spec)
    if version != spec.preprocessing_version:
        raise spec.error(path, f"the {spec.name} was trained with preprocessing {version!r}, this code uses "
                               f"{spec.preprocessing_version!r}")
    for head in HEADS:
        classes = get_field(metadata, ("classes", head), list, path, spec)
        if classes != list(CLASSES[head]):
            raise spec.error(path, f"classes.{head} is {classes!r}, this code's {head} classes are "
                                   f"{list(CLASSES[head])!r}")
    shape = get_field(metadata, spec.shape_key, list, path, spec)
    if not (all(type(v) is int for v in shape) and spec.shape_ok(shape)):
        raise spec.error(path, f"{'.'.join(spec.shape_key)} is {shape!r}, expected {spec.shape_expected}")
    if spec.sha256_required or SHA256_KEY in metadata:
        digest = get_field(metadata, (SHA256_KEY,), str, path, spec)
        if not _HEX64.fullmatch(digest):
            raise spec.error(path, f"{SHA256_KEY} is {digest!r}, expected 64 lowercase hex digits")
    return metadata


def get_field(metadata: dict[str, Any], keys: tuple[str, ...], kind: type, path: Path | str,
              spec: ModelSpec) -> Any:
    """metadata[keys[0]][keys[1]]... of JSON type `kind`, or a ModelError naming the key."""
    value: Any = metadata
    for depth, key in enumerate(keys):
        where = ".".join(keys[:depth])
        if not isinstance(value, dict):
            raise spec.error(path, f"{where} is a JSON {_json_type(value)} ({_short(value)}), expected a JSON object")
        if key not in value:
            raise spec.error(path, f"the key {'.'.join(keys[: depth + 1])!r} is missing")
        value = value[key]
    if not isinstance(value, kind):
        raise spec.error(path, f"{'.'.join(keys)} is a JSON {_json_type(value)} ({_short(value)}), "
                               f"expected a JSON {_JSON_TYPES[kind]}")
    return value


def _json_type(value: object) -> str:
    return "null" if value is None else _JSON_TYPES.get(type(value), type(value).__name__)


def _short(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class LiteRTRunner:
    """A LiteRT interpreter for one float32 input and one softmax output per head (told apart by size).

    `spec` names the model and its retrain command in errors; `source` is the file (default "the <model>").
    `batch` resizes the input's first axis (the models are exported for a batch of one).
    `expected_input` is the shape the metadata promises (batch of one); another shape is refused.
    """

    def __init__(self, model: bytes, spec: ModelSpec, *, source: Path | str | None = None,
                 expected_input: tuple[int, ...] | None = None, batch: int | None = None,
                 num_threads: int = 1) -> None:
        self._spec, self._source = spec, source or f"the {spec.name}"
        try:
            self._interpreter = _build_interpreter(model, num_threads)
            self.input_shape, self._input = self._check_input(expected_input)
            self.batch = batch or self.input_shape[0]
            if batch is not None:
                self._interpreter.resize_tensor_input(self._input, [batch, *self.input_shape[1:]])
            with native_stderr_silenced():
                self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:  # what LiteRT raises for a model it cannot run
            raise self._error(f"is not a usable LiteRT model (LiteRT: {exc}): truncated, corrupted or not a "
                              f"model") from exc
        self._outputs = self._map_outputs()

    def _error(self, problem: str) -> ModelError:
        return self._spec.error(self._source, problem)

    def _check_input(self, expected: tuple[int, ...] | None) -> tuple[tuple[int, ...], int]:
        inputs = self._interpreter.get_input_details()
        if len(inputs) != 1:
            raise self._error(f"has {len(inputs)} inputs, expected 1")
        shape = tuple(int(v) for v in inputs[0]["shape"])
        if inputs[0]["dtype"] != np.float32:
            raise self._error(f"takes {np.dtype(inputs[0]['dtype']).name} input, expected float32")
        if expected is not None and shape != tuple(expected):
            raise self._error(f"takes input {shape} but its metadata says {tuple(expected)}")
        return shape, int(inputs[0]["index"])

    def _map_outputs(self) -> dict[str, int]:
        sizes = [int(o["shape"][-1]) for o in self._interpreter.get_output_details()]
        expected = sorted(len(CLASSES[head]) for head in HEADS)
        if sorted(sizes) != expected:
            raise self._error(f"has outputs of sizes {sorted(sizes)}, expected one per head: {expected}")
        by_size = {int(o["shape"][-1]): int(o["index"]) for o in self._interpreter.get_output_details()}
        return {head: by_size[len(CLASSES[head])] for head in HEADS}

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """float32 input of the model's (resized) input shape -> {head: (batch, n_classes) probabilities}."""
        self._interpreter.set_tensor(self._input, batch)
        self._interpreter.invoke()
        return {head: self._interpreter.get_tensor(index) for head, index in self._outputs.items()}

    def run_one(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """One float32 input without the batch axis -> {head: (n_classes,) probabilities}."""
        return {head: p[0] for head, p in self.run(x[None]).items()}

    def run_all(self, inputs: np.ndarray) -> dict[str, np.ndarray]:
        """Any number of inputs (n, *input shape without the batch axis), in batches of `batch` (the last one
        padded with zeros) -> {head: (n, n_classes) probabilities}."""
        n = len(inputs)
        out = {head: np.zeros((n, len(CLASSES[head])), np.float32) for head in HEADS}
        batch = np.zeros((self.batch, *self.input_shape[1:]), np.float32)
        for start in range(0, n, self.batch):
            chunk = inputs[start : start + self.batch]
            batch[: len(chunk)] = chunk
            batch[len(chunk) :] = 0.0
            for head, probs in self.run(batch).items():
                out[head][start : start + len(chunk)] = probs[: len(chunk)]
        return out


def _build_interpreter(model: bytes, num_threads: int):
    from ai_edge_litert.interpreter import Interpreter

    with native_stderr_silenced():  # LiteRT prints "INFO: Created ... XNNPACK delegate" from C++
        return Interpreter(model_content=model, num_threads=num_threads)
