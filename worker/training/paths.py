"""Where a run may read from: local data, synonym tables and model folders only under the roots the
operator names (XLT_DATA_DIR, XLT_MODEL_DIRS); anything else a model is must look like a hub id.

Checked twice: by the server when a config is submitted (backend.run_configs, a 422 naming the field)
and by the worker right before it opens anything (data.py, model.py, the rs_da synonym table), against
the worker's own roots, so neither a config stored earlier nor a folder swapped for a symlink since
gets a worker to read elsewhere. The server checks the path as written (it may not have the disk);
the worker checks where the path really leads (symlinks resolved). A refusal never says whether
anything exists outside the roots: the check looks at the path, never at the disk there.

Pure (os.path, re): the backend imports it. `Roots()` (no roots at all) is what `xlt train` on one's
own machine uses: there is nobody to confine.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

# Hugging Face repo ids: an optional namespace and a name of letters, digits, '-', '_' and '.',
# at most 96 characters each, never '..' or '--' (huggingface_hub's validate_repo_id).
_HUB_PART = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"
HUB_ID = re.compile(rf"(?:{_HUB_PART}/)?{_HUB_PART}")


class PathRefused(ValueError):
    """A path or model name a run may not use; the message names the config field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def is_hub_id(name: str) -> bool:
    return bool(HUB_ID.fullmatch(name)) and ".." not in name and "--" not in name


def is_local_model(name: str) -> bool:
    """Local model folders are named by their absolute path; anything else is a hub id."""
    return os.path.isabs(name)


def model_label(name: str) -> str:
    """What a shared page shows of a model: a hub id as it is, a local folder by its name only."""
    return PurePosixPath(name).name or name if is_local_model(name) else name


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


@dataclass(frozen=True)
class Roots:
    """The folders a run may read local files from. `resolve`: follow symlinks (the worker does)."""

    data: tuple[Path, ...] = ()
    models: tuple[Path, ...] = ()
    confined: bool = True  # False: `xlt train` on one's own machine, any path goes

    def _under(self, path: str, roots: tuple[Path, ...], resolve: bool) -> Path | None:
        if not self.confined:  # `xlt train` on one's own machine: relative paths (to the cwd) too
            return None if "\x00" in path else Path(path)
        if not os.path.isabs(path) or ".." in PurePosixPath(path).parts or "\x00" in path:
            return None
        written = Path(os.path.normpath(path))  # first as written: nothing outside is ever looked at
        if not any(_inside(written, Path(os.path.normpath(root))) for root in roots):
            return None
        if not resolve:
            return written
        real = Path(os.path.realpath(path))  # then where it leads: no symlink out of the roots
        return real if any(_inside(real, Path(os.path.realpath(root))) for root in roots) else None

    def data_path(self, path: str, field: str = "data.dir", *, resolve: bool = False) -> Path:
        """`path` (absolute, under XLT_DATA_DIR) as the folder or file to read; PathRefused otherwise."""
        found = self._under(path, self.data, resolve)
        if found is not None:
            return found
        if self.confined and not self.data:
            raise PathRefused(field, "this server reads no local data (XLT_DATA_DIR is not set)")
        raise PathRefused(
            field, "local data is read only under the server's data folder (XLT_DATA_DIR), by absolute path"
        )

    def model_source(self, name: str, field: str = "model", *, resolve: bool = False) -> str:
        """What to hand the loader: a hub id as it is, or a local folder (absolute, under
        XLT_MODEL_DIRS); PathRefused for anything else."""
        if is_local_model(name):
            found = self._under(name, self.models, resolve)
            if found is None:
                raise PathRefused(
                    field,
                    "a local model folder must be under one of the server's model folders (XLT_MODEL_DIRS)",
                )
            return str(found)
        if resolve and self.confined and os.path.lexists(name):  # the loader would read this folder
            raise PathRefused(
                field, f"{name[:100]!r} is a relative path; name a local model folder by its absolute path"
            )
        if not is_hub_id(name):
            raise PathRefused(
                field,
                f"{name[:100]!r} is neither a hub id (name or org/name: letters, digits, '-', '_', '.') "
                "nor the absolute path of a model folder",
            )
        return name


UNCONFINED = Roots(confined=False)
