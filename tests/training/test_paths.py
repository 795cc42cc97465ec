"""worker.training.paths and the checks right before a worker opens anything: data files, the synonym
table and model folders only where they really lie under the roots (symlinks followed), hub ids that
look like hub ids, and refusals that read the same whether anything exists outside."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.training.config import DataConfig
from worker.training.data import load_split
from worker.training.model import load_classifier, load_tokenizer
from worker.training.paths import UNCONFINED, PathRefused, Roots, is_hub_id, model_label


@pytest.mark.parametrize(
    "name",
    ["xlm-roberta-base", "microsoft/mdeberta-v3-base", "bert-base-multilingual-cased", "a", "A_b.c/d-1"],
)
def test_hub_ids_look_like_hub_ids(name: str) -> None:
    assert is_hub_id(name)


@pytest.mark.parametrize(
    "name", ["../x", "a/b/c", "org/../x", "a--b", "./x", "~/x", "-x", "x.", "", "a b", "a\x00b", "é/x"]
)
def test_anything_else_is_no_hub_id(name: str) -> None:
    assert not is_hub_id(name)
    with pytest.raises(PathRefused, match="^model: "):
        Roots().model_source(name)


def test_local_models_show_as_their_folder_name() -> None:
    assert model_label("/srv/models/xlmr-finetuned") == "xlmr-finetuned"
    assert model_label("/srv/models/xlmr-finetuned/") == "xlmr-finetuned"
    assert model_label("microsoft/mdeberta-v3-base") == "microsoft/mdeberta-v3-base"


def test_a_symlink_inside_the_root_that_leads_out_is_refused_by_the_worker(tmp_path: Path) -> None:
    root, outside = tmp_path / "data", tmp_path / "elsewhere"
    (outside / "xnli").mkdir(parents=True)
    (outside / "xnli" / "train.en.jsonl").write_text(
        '{"sentence1": "a", "sentence2": "b", "label": "neutral"}\n'
    )
    root.mkdir()
    (root / "xnli").symlink_to(outside / "xnli")
    roots = Roots(data=(root,))
    roots.data_path(str(root / "xnli"))  # as written it is inside (what the server can check) …
    with pytest.raises(PathRefused, match="^data.dir: local data is read only under"):
        load_split(DataConfig(source="local", dir=str(root)), "xnli", "train", "en", roots=roots)
    assert len(load_split(DataConfig(source="local", dir=str(root)), "xnli", "train", "en")) == 1  # xlt train


def test_the_worker_refuses_data_outside_its_root_the_same_whether_it_exists_or_not(
    tmp_path: Path, shared_data: Path
) -> None:
    roots = Roots(data=(tmp_path,))
    messages = set()
    for folder in (shared_data, tmp_path.parent / "no-such-folder"):
        with pytest.raises(PathRefused) as refused:
            load_split(DataConfig(source="local", dir=str(folder)), "xnli", "test", "en", roots=roots)
        messages.add(str(refused.value))
    assert len(messages) == 1 and str(shared_data) not in messages.pop()


def test_the_worker_reads_data_under_its_root(shared_data: Path) -> None:
    examples = load_split(
        DataConfig(source="local", dir=str(shared_data)), "xnli", "dev", "en", 3, Roots(data=(shared_data,))
    )
    assert len(examples) == 3


def test_model_folders_outside_the_model_roots_never_reach_the_loader(
    tiny_model: Path, tmp_path: Path
) -> None:
    roots = Roots(models=(tmp_path,))  # the tiny model lies elsewhere
    with pytest.raises(PathRefused, match="^model: a local model folder must be under"):
        load_tokenizer(str(tiny_model), roots)
    with pytest.raises(PathRefused, match="^model: a local model folder must be under"):
        load_classifier(str(tiny_model), 3, 0, roots=roots)
    link = tmp_path / "model-link"
    link.symlink_to(tiny_model)  # inside as written, outside where it leads
    with pytest.raises(PathRefused):
        load_tokenizer(str(link), roots)
    assert load_tokenizer(str(tiny_model), Roots(models=(tiny_model.parent,))) is not None
    assert load_tokenizer(str(tiny_model), UNCONFINED) is not None


def test_xlt_train_unconfined_reads_relative_paths_as_the_yaml_in_docs_results_says(tmp_path: Path) -> None:
    """docs/results/*.yaml say `data.dir: ../shared/data`: `xlt train` (UNCONFINED) takes it as is."""
    assert UNCONFINED.data_path("../shared/data") == Path("../shared/data")
    assert UNCONFINED.data_path(str(tmp_path)) == tmp_path
    with pytest.raises(PathRefused):
        UNCONFINED.data_path("a\x00b")
