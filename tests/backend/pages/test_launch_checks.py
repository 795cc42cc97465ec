"""The launch form before launch: presets (the Quick CPU demo), a local data folder that is not there,
and the CPU run-time estimate, on the rendered page and from /launch/checks.json as the form changes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend.pages.launch_checks import (
    CPU_EVAL_EXAMPLES_PER_S,
    CPU_STARTUP_S,
    CPU_TRAIN_EXAMPLES_PER_S,
    data_dir_warning,
    estimate_cpu_seconds,
    model_cost,
    submitted_shape,
)
from backend.pages.launch_form import form_values, parse_launch_form
from backend.pages.launch_presets import quick_cpu_demo, shipped_minilm
from backend.settings import Settings
from tests.factories import data_dir, embedded


def _checked_languages(html: str) -> list[str]:
    return re.findall(r'name="eval.languages" value="(\w+)"[^>]*checked', html)


def _selected(html: str, field_id: str) -> str:
    select = html.split(f'id="{field_id}"', 1)[1].split("</select>", 1)[0]
    found = re.search(r'<option value="([^"]*)" selected', select)
    assert found, select[:500]
    return found.group(1)


@pytest.fixture
def client_without_data(tmp_path: Path) -> Iterator[TestClient]:
    """A server whose XLT_DATA_DIR names a folder that does not exist (a fresh machine)."""
    from backend.app import create_app

    with embedded(tmp_path / "xlt", data_dir=str(tmp_path / "no-such-data")), TestClient(create_app()) as c:
        yield c


def test_a_missing_local_folder_or_training_file_is_explained_and_hub_data_is_not_checked(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "nowhere"
    assert "No folder" in (data_dir_warning("local", str(missing), "xnli", "en") or "")
    assert "xlt data prepare" in (data_dir_warning("local", str(missing), "xnli", "en") or "")
    assert data_dir_warning("local", str(tmp_path), "xnli", "en") == (
        f"{tmp_path} has no xnli/train.en.jsonl: the run would fail when it loads its data."
    )
    assert data_dir_warning("local", str(data_dir()), "xnli", "en") is None
    assert data_dir_warning("hf", str(missing), "xnli", "en") is None


def test_the_cpu_estimate_is_examples_over_the_measured_throughput(embedded_settings: Settings) -> None:
    parsed = parse_launch_form(submitted_shape(form_values() | quick_cpu_demo(embedded_settings)))
    (config,) = parsed.configs
    train = 2 * 3000  # 2 epochs over the 3,000 local English pairs
    evaluated = 2 * 198 + 4 * 498  # English dev after each epoch, then 4 test languages
    expected = CPU_STARTUP_S + train / CPU_TRAIN_EXAMPLES_PER_S + evaluated / CPU_EVAL_EXAMPLES_PER_S
    assert estimate_cpu_seconds(config) == pytest.approx(expected)
    assert 60 < expected < 300  # "a few minutes"

    bigger = config.model_copy(update={"model": "xlm-roberta-base"})
    assert model_cost("xlm-roberta-base") == 8.0  # 12 layers × 768² against 6 × 384²
    assert estimate_cpu_seconds(bigger) == pytest.approx(CPU_STARTUP_S + 8 * (expected - CPU_STARTUP_S))
    assert estimate_cpu_seconds(config.model_copy(update={"model": "someone/unknown-model"})) is None
    gpu = config.model_copy(update={"train": config.train.model_copy(update={"device": "auto"})})
    assert estimate_cpu_seconds(gpu) is None
    elsewhere = config.model_copy(update={"data": config.data.model_copy(update={"dir": "/no/such/data"})})
    assert estimate_cpu_seconds(elsewhere) is None  # no training file: no "about 20 s"


def test_quick_cpu_demo_preset_fills_the_form_with_the_measured_recipe(client: TestClient) -> None:
    page = client.get("/launch?preset=quick-cpu-demo")

    assert page.status_code == 200
    html = page.text
    assert 'id="preset-note"' in html and "Quick CPU demo" in html
    assert f'value="{shipped_minilm()}"' in html
    assert _selected(html, "f-data-source") == "local"  # this server has the datasets on disk
    assert _selected(html, "f-train-precision") == "fp32" and _selected(html, "f-train-device") == "cpu"
    for field, value in (
        ("train-epochs", "2"),
        ("train-learning_rate", "1e-4"),
        ("train-max_train_examples", "3000"),
    ):
        assert re.search(rf'id="f-{field}" name="[^"]+" value="{re.escape(value)}"', html), field
    assert _checked_languages(html) == ["en", "de", "fr", "sw"]
    assert re.search(r'id="launch-estimate"[^>]*>CPU estimate: about 2 min on 2 cores<', html)
    assert client.get("/launch?preset=no-such").status_code == 404


def test_quick_cpu_demo_preset_launches_as_it_is(client: TestClient, embedded_settings: Settings) -> None:
    form = submitted_shape(form_values() | quick_cpu_demo(embedded_settings))

    launched = client.post("/launch", data=form, follow_redirects=False)

    assert launched.status_code == 303, launched.text[:2000]
    run = client.get(f"/api/runs/{launched.headers['location'].rsplit('/', 1)[1]}").json()
    train = run["config"]["train"]
    assert {
        k: train[k] for k in ("epochs", "learning_rate", "max_train_examples", "precision", "device")
    } == {
        "epochs": 2,
        "learning_rate": 1e-4,
        "max_train_examples": 3000,
        "precision": "fp32",
        "device": "cpu",
    }
    assert (run["config"]["model"], run["config"]["data"]["dir"]) == (shipped_minilm(), str(data_dir()))
    assert run["config"]["eval"]["languages"] == ["en", "de", "fr", "sw"]


def test_on_a_machine_without_the_data_folder_the_form_defaults_to_the_hub_and_flags_local(
    client_without_data: TestClient, tmp_path: Path
) -> None:
    html = client_without_data.get("/launch").text
    assert _selected(html, "f-data-source") == "hf"
    assert re.search(r'id="data-warning" role="status" hidden>', html)
    demo = client_without_data.get("/launch?preset=quick-cpu-demo").text
    assert _selected(demo, "f-data-source") == "hf"  # the demo too: it downloads XNLI once

    checks = client_without_data.get(
        "/launch/checks.json", params={"task": "xnli", "model": "m", "data.source": "local"}
    ).json()
    assert checks["data_warning"].startswith(f"No folder {tmp_path / 'no-such-data'} on this server")
    typed = client_without_data.get(
        "/launch/checks.json", params={"task": "xnli", "data.source": "local", "data.dir": str(data_dir())}
    ).json()
    assert typed["data_warning"] is None
    hub = client_without_data.get("/launch/checks.json", params={"task": "xnli", "data.source": "hf"}).json()
    assert hub == {"data_warning": None, "estimate": None}  # no model, so no valid config to estimate
