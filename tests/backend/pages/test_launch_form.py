"""The launch form ↔ configs: one run or a sweep's grid, errors keyed by the field they belong next to."""

from __future__ import annotations

import pytest

from backend.pages.launch_form import form_values, parse_launch_form, parse_seeds

BASE = {"task": "xnli", "model": "m", "source_language": "en", "eval.languages": ["en", "sw"], "seeds": "1"}


def test_one_seed_and_method_is_one_run_with_typed_values():
    request = parse_launch_form(BASE | {"train.learning_rate": "3e-5", "train.batch_size": "16"})
    assert request.errors == {} and not request.is_sweep
    config = request.configs[0]
    assert (config.train.learning_rate, config.train.batch_size, config.eval.languages) == (
        3e-5,
        16,
        ["en", "sw"],
    )


def test_methods_grid_times_seeds_is_a_sweep_with_each_methods_settings():
    form = BASE | {
        "grid.methods": ["none", "rs_rp"],
        "seeds": "1-2",
        "robust.sigma": "0.1",
        "robust.steps": "x",
    }
    request = parse_launch_form(form)
    assert request.errors == {}  # adv's bad 'steps' is not sent: adv is not in the grid
    assert request.grid == {"robust.method": ["none", "rs_rp"], "train.seed": [1, 2]}
    assert [(c.robust.method, c.train.seed) for c in request.configs] == [
        ("none", 1),
        ("none", 2),
        ("rs_rp", 1),
        ("rs_rp", 2),
    ]
    assert request.configs[2].robust.sigma == 0.1


def test_errors_are_keyed_by_form_field():
    errors = parse_launch_form(BASE | {"train.learning_rate": "-1", "train.batch_size": "many"}).errors
    assert set(errors) == {"train.learning_rate", "train.batch_size"}
    assert "greater than 0" in errors["train.learning_rate"][0]


def test_model_level_errors_go_to_the_field_their_message_names():
    errors = parse_launch_form(BASE | {"eval.languages": ["ja"]}).errors
    assert list(errors) == ["eval.languages"]
    assert list(parse_launch_form(BASE | {"data.source": "local"}).errors) == ["data.dir"]
    assert parse_launch_form(BASE | {"data.source": "local"}, data_dir="/data").errors == {}


def test_all_languages_ticked_means_the_tasks_default():
    request = parse_launch_form(
        BASE | {"task": "pawsx", "eval.languages": ["en", "de", "es", "fr", "ja", "ko", "zh"]}
    )
    assert request.configs[0].eval.languages is None


def test_sts_stage_only_when_switched_on():
    assert parse_launch_form(BASE | {"intermediate.epochs": "2"}).configs[0].intermediate is None
    on = parse_launch_form(BASE | {"intermediate.enabled": "1", "intermediate.epochs": "2"}).configs[0]
    assert on.intermediate is not None and on.intermediate.epochs == 2.0


def test_with_and_without_sts_stage_is_a_sweep_axis_with_the_forms_stage_settings():
    form = BASE | {"grid.intermediate": "1", "grid.methods": ["none", "rs_rp"], "intermediate.epochs": "2"}
    request = parse_launch_form(form)
    assert request.errors == {}
    assert [c.method_label for c in request.configs] == ["baseline", "rs_rp", "stsb", "stsb+rs_rp"]
    assert all(c.intermediate.epochs == 2.0 for c in request.configs if c.intermediate is not None)


@pytest.mark.parametrize(("text", "seeds"), [("1, 2, 3", [1, 2, 3]), ("1-3", [1, 2, 3]), ("4 2 4", [4, 2])])
def test_parse_seeds(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text", ["", "a", "3-1", "1-1000"])
def test_parse_seeds_rejects(text):
    with pytest.raises(ValueError):
        parse_seeds(text)


def test_clone_values_round_trip_a_config():
    original = parse_launch_form(
        BASE | {"robust.method": "adv", "robust.epsilon": "0.05", "tags": "a b"}
    ).configs[0]
    values = form_values(original.model_dump(mode="json"))
    assert values["robust.method"] == "adv" and values["robust.epsilon"] == 0.05
    assert values["eval.languages"] == ["en", "sw"] and values["seeds"] == "1"
    assert form_values()["eval.languages"][:3] == ["en", "ar", "bg"]  # fresh form: all of XNLI ticked


def test_a_study_keeps_its_sts_b_settings_in_the_base_and_lists_every_method_label():
    form = BASE | {
        "study": "1",
        "grid.intermediate": "1",
        "grid.methods": ["none", "rs_rp"],
        "intermediate.epochs": "2",
        "seeds": "1-3",
    }
    request = parse_launch_form(form)
    assert request.errors == {} and request.is_study and request.seeds == [1, 2, 3]
    assert request.study_methods == ["baseline", "rs_rp", "stsb", "stsb+rs_rp"]
    assert request.study_base["intermediate"] == {"epochs": "2"}
    assert not parse_launch_form(BASE).is_study
