"""The worker checks paths again before it reads: a run stored with a data folder or model folder
outside the worker's XLT_DATA_DIR / XLT_MODEL_DIRS (submitted when the roots were wider, or written
straight into the database) fails with a clear message naming the field, whether the path exists or not."""

from __future__ import annotations

from pathlib import Path

from backend import store
from tests.factories import embedded, tiny_run_config
from worker.tasks import execute_run
from worker.training.config import RunConfig


def _run_and_fail(config: dict) -> str:
    run = store.create_run(RunConfig.model_validate(config), queue="cpu", task_id="t")
    assert execute_run(run.id, "t") == "failed"
    stored = store.get_run(run.id)
    assert stored is not None and stored.status == "failed" and stored.error_message is not None
    return stored.error_message


def test_the_worker_refuses_a_data_dir_outside_its_root(tmp_path: Path, tiny_model: Path) -> None:
    narrow = tmp_path / "data-root"
    narrow.mkdir()
    with embedded(tmp_path / "xlt", data_dir=str(narrow)) as settings:
        assert settings.data_dir == str(narrow)
        messages = {
            _run_and_fail(tiny_run_config(tiny_model) | {"data": {"source": "local", "dir": folder}})
            for folder in ("/usr/share", str(tmp_path / "no-such-folder"))
        }
    assert len(messages) == 1
    message = messages.pop()
    assert message == (
        "PathRefused: data.dir: local data is read only under the server's data folder (XLT_DATA_DIR), "
        "by absolute path"
    )


def test_the_worker_refuses_a_model_folder_outside_its_model_roots(tmp_path: Path, tiny_model: Path) -> None:
    with embedded(tmp_path / "xlt", model_dirs=str(tmp_path / "models")) as settings:
        config = tiny_run_config(tiny_model) | {"data": {"source": "local", "dir": settings.data_dir}}
        message = _run_and_fail(config)
    assert message.startswith("PathRefused: model: a local model folder must be under")
    assert str(tiny_model) not in message
