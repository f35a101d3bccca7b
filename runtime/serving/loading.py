"""Turn `--model PATH` into a served `ScoringModel`: a `model.tar.gz` is unpacked (data-only tar filter) into
a temporary folder, an extracted folder is used as is, and the loader named by `module:function` loads it."""

from __future__ import annotations

import importlib
import tarfile
import tempfile
from pathlib import Path

from runtime.errors import RuntimeJobError
from runtime.serving.protocol import ModelLoader, ScoringModel

DEFAULT_LOADER = "runtime.models.scoring:load_model_artifact"


def resolve_loader(spec: str) -> ModelLoader:
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise RuntimeJobError(f"--loader must be module:function (got {spec!r})")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise RuntimeJobError(f"cannot import the model loader module {module_name!r} ({err})") from None
    loader = getattr(module, attribute, None)
    if not callable(loader):
        raise RuntimeJobError(f"{spec!r} is not a callable model loader")
    return loader  # type: ignore[no-any-return]


def unpack(path: Path, workdir: Path) -> Path:
    """The model folder: `path` itself, or `path` (a .tar.gz) unpacked under `workdir` with tar's data filter
    (no absolute paths, links out of the folder or device files)."""
    if path.is_dir():
        return path
    if not path.is_file():
        raise RuntimeJobError(f"no model at {path}")
    if not path.name.endswith((".tar.gz", ".tgz")):
        return path
    target = workdir / "model"
    try:
        with tarfile.open(path, "r:*") as archive:
            archive.extractall(target, filter="data")
    except (tarfile.TarError, OSError) as err:
        raise RuntimeJobError(f"cannot unpack {path} ({err})") from None
    return target


def load_model(path: Path, loader: ModelLoader) -> tuple[ScoringModel, tempfile.TemporaryDirectory[str]]:
    """The model and the temporary folder it was unpacked into (kept alive while serving)."""
    workdir = tempfile.TemporaryDirectory(prefix="ndrc-model-")
    try:
        model = loader(unpack(path, Path(workdir.name)))
    except RuntimeJobError:
        workdir.cleanup()
        raise
    except Exception as err:  # a loader's own refusal (hash mismatch, bad format) as one readable line
        workdir.cleanup()
        raise RuntimeJobError(f"the model at {path} did not load: {type(err).__name__}: {err}") from None
    return model, workdir
