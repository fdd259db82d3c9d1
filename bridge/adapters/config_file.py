"""Rewrite one table of the TOML config file in place (tomli-w), keeping every other table.

    save_config_table(path, "palette", {"flute": ["#1E90FF"]}, what="the palette")
    save_config_table(path, "palette", None, what="the palette")     # remove the table

The write is atomic (bridge.adapters.atomic_write). A symlinked config is followed: the file it points to is replaced
and the link stays. The file keeps its permission bits (a 0600 config stays private); a new one is 0644.
Comments in the file are not kept (tomllib and tomli-w do not round-trip them). A file that cannot be read
as TOML, or a folder that cannot be written, is a ConfigError naming the file and what to do.
"""

from __future__ import annotations

import errno
import tomllib
from pathlib import Path
from typing import Any

from bridge.adapters.atomic_write import write_atomically
from bridge.core.errors import ConfigError

# Errors that mean the folder itself cannot take a new file (rather than e.g. a full disk).
_NOT_WRITABLE = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST}


def save_config_table(path: Path, table: str, value: dict[str, Any] | None, *, what: str) -> Path:
    """Set `[table]` of the config at `path` to `value` (None removes it); a dotted name ("midi.mapping") is a
    table inside another. Returns the file written (the symlink's target). `what` names the setting in error
    messages ("the palette")."""
    import tomli_w

    target = _link_target(path, what)
    doc = _read(target, what)
    *outer, name = table.split(".")
    parent = doc
    for key in outer:
        parent = parent.setdefault(key, {})
        if not isinstance(parent, dict):
            raise ConfigError(f"config file {target}: [{key}] must be a table; not saving {what}")
    if value is None:
        parent.pop(name, None)
    else:
        parent[name] = value
    try:
        write_atomically(target, lambda handle: tomli_w.dump(doc, handle))
    except OSError as exc:
        raise ConfigError(_unwritable(target, exc, what)) from exc
    return target


def _unwritable(path: Path, exc: OSError, what: str) -> str:
    folder = path.parent
    problem = "cannot be written" if exc.errno in _NOT_WRITABLE else "could not take the new file"
    return (f"cannot save {what} to {path}: the folder {folder} {problem} ({exc.strerror or exc}); "
            f"make {folder} a writable folder, or start with --config FILE in a writable folder "
            "(an empty file will do)")


def _link_target(path: Path, what: str) -> Path:
    try:
        return Path(path).expanduser().resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise ConfigError(f"config file {path}: cannot follow its symlinks ({exc}); not saving {what}") from exc


def _read(path: Path, what: str) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except NotADirectoryError as exc:  # a folder on the way is a regular file
        raise ConfigError(_unwritable(path, exc, what)) from exc
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config file {path}: {exc}; not saving {what} (fix or move the file)") from exc

