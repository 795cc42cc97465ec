"""The client verbs against a running `xlt serve` (no worker): runs, show, results, cancel, retry,
share, wait, and submit, over HTTP only. Finished runs are stored as imports would store them; a
run's life (claimed, progress, failed, succeeded) is played by the store, as a worker would.

Accounts are off (the embedded start on 127.0.0.1) except in the tests named `..._with_accounts`,
which also check where the server and token come from (flags > XLT_SERVER/XLT_TOKEN > config file).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from backend import store
from backend.store.imports import import_results
from tests.factories import (
    REPO,
    embedded,
    fake_result,
    free_port,
    make_account,
    running_xlt_serve,
    tiny_config,
    wait_until,
)
from xlt.cli import main
from xlt.client_connection import ClientError, resolve_connection

BASELINE = {"en": 0.81, "de": 0.74, "sw": 0.52, "th": 0.61}
BASELINE_2 = {"en": 0.83, "de": 0.72, "sw": 0.54, "th": 0.63}
RS_RP = {"en": 0.80, "de": 0.75, "sw": 0.58, "th": 0.64}
QUEUED_CONFIG = "task: xnli\nmodel: some/model\ntrain: {device: cpu}\n"


@dataclass
class Lab:
    url: str
    root: Path
    experiment_id: int
    run_ids: list[int]  # baseline seed 1, baseline seed 2, rs_rp seed 1 (all succeeded)


@contextmanager
def xlt_serve(root: Path) -> Iterator[str]:
    """`python -m xlt.cli serve --no-worker` on a free port with the current XLT_ environment."""
    with running_xlt_serve(["--no-worker"], os.environ, root / "serve.log") as url:
        yield url


@pytest.fixture(autouse=True)
def no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nobody's ~/.config/xlt/config.toml, XLT_SERVER or XLT_TOKEN leaks into a test."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config-home"))
    for name in ("XLT_CONFIG", "XLT_SERVER", "XLT_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    root = tmp_path_factory.mktemp("lab")
    with embedded(root / "home"):
        results = [
            fake_result(tiny_config(train={"device": "cpu", "seed": 1}), BASELINE),
            fake_result(tiny_config(train={"device": "cpu", "seed": 2}), BASELINE_2),
            fake_result(tiny_config(robust={"method": "rs_rp"}), RS_RP),
        ]
        experiment_id, _, run_ids = import_results(results, "paper table")
        assert experiment_id is not None
        with xlt_serve(root) as url:
            yield Lab(url, root, experiment_id, run_ids)


def xlt(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`xlt ARGS` in this process (the server is another): exit status, stdout, stderr."""
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def submit(capsys: pytest.CaptureFixture[str], lab: Lab, *extra: str) -> int:
    config = lab.root / "queued.yaml"
    config.write_text(QUEUED_CONFIG)
    code, out, err = xlt(capsys, "submit", str(config), "--server", lab.url, *extra)
    assert code == 0, err
    match = re.match(r"run (\d+) queued on cpu: ", out)
    assert match, out
    return int(match.group(1))


def rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines()]


# ── runs, show, results ──────────────────────────────────────────────────────────────────────────


def test_runs_lists_newest_first_and_filters_by_experiment_method_status_and_tag(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    base, base2, rs_rp = lab.run_ids
    code, out, _ = xlt(capsys, "runs", "--server", lab.url, "--experiment", str(lab.experiment_id))
    assert code == 0
    table = rows(out)
    assert table[0][:7] == ["id", "status", "name", "task", "method", "seed", "avg"]
    assert [r[0] for r in table[1:]] == [str(rs_rp), str(base2), str(base)]
    assert table[1][1] == "succeeded" and "rs_rp" in table[1]
    assert "69.2" in table[1]  # (80 + 75 + 58 + 64) / 4 = 69.25

    code, out, _ = xlt(capsys, "runs", "--server", lab.url, "--method", "rs_rp", "--ids")
    assert (code, out) == (0, f"{rs_rp}\n")
    queued = submit(capsys, lab, "--tag", "smoke")
    code, out, _ = xlt(capsys, "runs", "--server", lab.url, "--status", "queued", "--tag", "smoke", "--ids")
    assert (code, out) == (0, f"{queued}\n")
    code, out, _ = xlt(capsys, "runs", "--server", lab.url, "--status", "succeeded,failed", "--limit", "1")
    assert code == 0 and len(rows(out)) == 3 and out.splitlines()[-1].startswith("(1 of ")
    code, out, _ = xlt(capsys, "runs", "--server", lab.url, "--tag", "no-such-tag")
    assert (code, out) == (0, "no runs match\n")
    code, out, _ = xlt(capsys, "runs", "--server", lab.url, "--experiment", str(lab.experiment_id), "--json")
    assert json.loads(out)["total"] == 3


def test_show_prints_state_link_average_and_per_language_scores(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id = lab.run_ids[0]
    code, out, _ = xlt(capsys, "show", str(run_id), "--server", lab.url)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(f"run {run_id}  succeeded")
    assert lines[1] == f"  {lab.url}/runs/{run_id}"
    assert f"experiment {lab.experiment_id}" in out and "tags imported" in out
    assert "  average 67.0%" in out  # (81 + 74 + 52 + 61) / 4
    assert ["xnli", "sw", "Swahili", "low", "test", "accuracy", "52.0", "498"] in rows(out)

    code, out, _ = xlt(capsys, "show", str(run_id), "--server", lab.url, "--json")
    shown = json.loads(out)
    assert code == 0 and shown["run"]["id"] == run_id
    assert {s["language"]: s["value"] for s in shown["scores"]} == BASELINE


def test_results_of_a_run_as_table_csv_json_and_latex(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    run_id = lab.run_ids[0]
    code, out, _ = xlt(capsys, "results", str(run_id), "--server", lab.url)
    assert code == 0 and ["xnli", "en", "English", "high", "test", "accuracy", "81.0", "498"] in rows(out)

    code, out, _ = xlt(capsys, "results", str(run_id), "--server", lab.url, "--format", "csv")
    table = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and {r["language"]: float(r["value"]) for r in table} == BASELINE
    assert {r["run_id"] for r in table} == {str(run_id)}

    code, out, _ = xlt(capsys, "results", str(run_id), "--server", lab.url, "--format", "json")
    payload = json.loads(out)
    assert code == 0 and payload["run"]["id"] == run_id and len(payload["scores"]) == 4

    code, out, _ = xlt(capsys, "results", str(run_id), "--server", lab.url, "--format", "latex")
    assert (
        code == 0
        and r"\begin{tabular}" in out
        and r"\textbf{81.0}" in out
        and out.endswith("\\end{table*}\n")
    )


def test_results_of_an_experiment_group_seeds_with_mean_and_std(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    exp = str(lab.experiment_id)
    code, out, _ = xlt(capsys, "results", "--experiment", exp, "--server", lab.url)
    assert code == 0
    table = rows(out)
    assert table[0] == ["group", "seeds", "en", "de", "th", "sw", "avg"]  # source, high, mid, low
    baseline = next(r for r in table if r[0] == "baseline")
    assert baseline[1] == "2" and baseline[2] == "82.0±1.4"  # mean and sample std of 81 and 83
    assert next(r for r in table if r[0] == "rs_rp")[1:3] == ["1", "80.0"]

    code, out, _ = xlt(capsys, "results", "--experiment", exp, "--server", lab.url, "--format", "csv")
    groups = {r["group"] for r in csv.DictReader(io.StringIO(out))}
    assert code == 0 and len(groups) == 2
    code, out, _ = xlt(capsys, "results", "--experiment", exp, "--server", lab.url, "--format", "json")
    assert code == 0 and sorted(len(g["seeds"]) for g in json.loads(out)["groups"]) == [1, 2]
    code, out, _ = xlt(capsys, "results", "--experiment", exp, "--server", lab.url, "--format", "latex")
    assert code == 0 and out.count(r"\\") >= 3 and r"$\pm$" in out


def test_results_of_groups_named_by_filters_in_one_request(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = xlt(
        capsys, "results", "--match", "method=baseline", "--match", "method=rs_rp", "--server", lab.url
    )
    table = rows(out)
    assert code == 0 and [r[0] for r in table[1:3]] == ["baseline", "rs_rp"]
    assert table[1][1:3] == ["2", "82.0±1.4"]
    code, _, err = xlt(capsys, "results", "--match", "method=nothing", "--server", lab.url)
    assert code == 1 and "404" in err and "match 1: no runs match" in err


# ── cancel, retry, share, wait ───────────────────────────────────────────────────────────────────


def test_cancel_a_queued_run_then_again_is_a_409_and_retry_queues_the_same_config(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id = submit(capsys, lab)
    assert xlt(capsys, "cancel", str(run_id), "--server", lab.url) == (0, f"run {run_id} cancelled\n", "")
    code, out, err = xlt(capsys, "cancel", str(run_id), "--server", lab.url)
    assert (code, out) == (1, "")
    assert err == f"xlt cancel: XLT Lab at {lab.url}: HTTP 409: run {run_id} is already cancelled\n"

    code, out, _ = xlt(capsys, "retry", str(run_id), "--server", lab.url)
    match = re.fullmatch(rf"run (\d+) queued on cpu \(retry of run {run_id}\): {lab.url}/runs/(\d+)\n", out)
    assert code == 0 and match and match.group(1) == match.group(2)
    new = httpx.get(f"{lab.url}/api/runs/{match.group(1)}").json()
    old = httpx.get(f"{lab.url}/api/runs/{run_id}").json()
    assert new["status"] == "queued" and new["config"] == old["config"]


def test_share_prints_a_link_that_opens_the_run_or_the_experiment_read_only(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = xlt(capsys, "share", str(lab.run_ids[2]), "--server", lab.url)
    assert code == 0 and re.fullmatch(rf"{lab.url}/s/[\w-]{{20,}}\n", out)
    page = httpx.get(out.strip())
    assert page.status_code == 200 and "rs_rp" in page.text

    code, out, err = xlt(
        capsys, "share", "--experiment", str(lab.experiment_id), "--server", lab.url, "--expires-days", "7"
    )
    assert code == 0 and out.startswith(f"{lab.url}/s/") and err.startswith("expires ")
    assert httpx.get(out.strip()).status_code == 200
    code, _, err = xlt(capsys, "share", "9999", "--server", lab.url)
    assert code == 2 and "HTTP 422: view.run_id: a share link of kind run names an existing run" in err


def test_wait_follows_a_run_to_success_and_exits_0(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    run_id = submit(capsys, lab)
    progress = lab.root / f"wait-{run_id}.err"
    with progress.open("w") as err_file:
        waiting = subprocess.Popen(
            [sys.executable, "-m", "xlt.cli", "wait", str(run_id), "--server", lab.url, "--interval", "0.2"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=err_file,
            text=True,
        )
        try:
            wait_until(
                lambda: "queued 0%" in progress.read_text(), 60, "wait reports queued", progress.read_text()
            )
            claim = store.claim_run(run_id, "test-host", None)
            assert claim is not None
            store.record_progress(run_id, attempt=claim.attempt, progress=0.5, stage="task")
            wait_until(lambda: "running 50%" in progress.read_text(), 30, "wait reports progress")
            store.complete_run(run_id, fake_result(tiny_config(), BASELINE), attempt=claim.attempt)
            out, _ = waiting.communicate(timeout=30)
        finally:
            if waiting.poll() is None:
                waiting.kill()
    assert waiting.returncode == 0
    assert out == f"run {run_id} succeeded: average 67.0%\n"
    assert progress.read_text().splitlines() == [f"run {run_id}: queued 0%", f"run {run_id}: running 50%"]


def test_wait_exit_status_failed_1_cancelled_2_timeout_3_unknown_run_4(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    failed = submit(capsys, lab)
    claim = store.claim_run(failed, "test-host", None)
    assert claim is not None
    store.fail_run(failed, "CUDA out of memory", attempt=claim.attempt)
    assert xlt(capsys, "wait", str(failed), "--server", lab.url)[:2] == (
        1,
        f"run {failed} failed: CUDA out of memory\n",
    )

    queued = submit(capsys, lab)
    code, out, err = xlt(
        capsys, "wait", str(queued), "--server", lab.url, "--timeout", "0.3", "--interval", "0.1"
    )
    assert (code, out) == (3, "") and f"run {queued} is still queued after 0.3 s" in err
    store.request_cancel(queued)
    assert xlt(capsys, "wait", str(queued), "--server", lab.url)[:2] == (2, f"run {queued} cancelled\n")

    code, out, err = xlt(capsys, "wait", "9999", "--server", lab.url)
    assert (code, out, err) == (4, "", f"xlt wait: XLT Lab at {lab.url}: HTTP 404: run 9999 not found\n")


# ── errors and where the server and the token come from ─────────────────────────────────────────


def test_an_unreachable_server_is_one_line_naming_it_not_a_traceback(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    for verb in (["runs"], ["show", "1"], ["wait", "1"]):
        done = subprocess.run(
            [sys.executable, "-m", "xlt.cli", *verb, "--server", url],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == (4 if verb[0] == "wait" else 1)
        assert done.stderr.startswith(f"xlt {verb[0]}: cannot reach XLT Lab at {url}: "), done.stderr
        assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr


def test_server_and_token_come_from_flags_then_environment_then_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "xlt.toml"
    config.write_text('server = "https://file.example"\ntoken = "from-file"\n')
    config.chmod(0o600)
    monkeypatch.setenv("XLT_CONFIG", str(config))
    assert resolve_connection() == resolve_connection(None, None)
    assert (resolve_connection().server, resolve_connection().token) == ("https://file.example", "from-file")
    monkeypatch.setenv("XLT_SERVER", "env.example:8000")
    monkeypatch.setenv("XLT_TOKEN", "from-env")
    connection = resolve_connection()
    assert (connection.server, connection.token, connection.token_from) == (
        "http://env.example:8000",
        "from-env",
        "XLT_TOKEN",
    )
    connection = resolve_connection("https://flag.example/", "from-flag")
    assert (connection.server, connection.token, connection.token_from) == (
        "https://flag.example",
        "from-flag",
        "--token",
    )
    config.write_text('server = "https://file.example"\ntoken = from-file\n')  # not TOML: unquoted
    monkeypatch.delenv("XLT_TOKEN")
    with pytest.raises(ClientError, match=rf"config file {re.escape(str(config))}: .*line 2"):
        resolve_connection()
    config.write_text('url = "https://file.example"\n')
    with pytest.raises(ClientError, match="unknown key.*url"):
        resolve_connection()
    monkeypatch.setenv("XLT_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ClientError, match="does not exist"):
        resolve_connection()


def test_verbs_with_accounts_use_the_token_from_the_config_file_and_name_a_refused_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with embedded(tmp_path / "home", auth="on"):
        alice = make_account("alice", "member")
        vera = make_account("vera", "viewer")
        with xlt_serve(tmp_path) as url:
            job = tmp_path / "run.yaml"
            job.write_text(QUEUED_CONFIG)
            code, _, err = xlt(capsys, "submit", str(job), "--server", url)
            assert code == 1
            assert err == (
                f"xlt submit: XLT Lab at {url}: HTTP 401: Log in, or send an API token as"
                " 'Authorization: Bearer <token>'. (xlt sends the token of --token, XLT_TOKEN"
                " or the config file's token = …)\n"
            )

            config = tmp_path / "config.toml"
            dead = f"http://127.0.0.1:{free_port()}"
            config.write_text(f'server = "{dead}"\ntoken = "{alice.token}"\n')
            config.chmod(0o600)
            monkeypatch.setenv("XLT_CONFIG", str(config))
            monkeypatch.setenv("XLT_SERVER", url)  # the environment's server beats the file's
            code, out, err = xlt(capsys, "submit", str(job))
            assert code == 0 and err == "", err
            run_id = int(out.split()[1])
            assert httpx.get(f"{url}/api/runs/{run_id}", headers=alice.headers).json()["owner"] == "alice"
            code, out, _ = xlt(capsys, "runs", "--ids")
            assert (code, out) == (0, f"{run_id}\n")
            code, out, _ = xlt(capsys, "share", str(run_id))
            assert code == 0 and httpx.get(out.strip()).status_code == 200  # the link needs no login

            monkeypatch.setenv("XLT_TOKEN", "xlt_not-a-token")  # the environment's token beats the file's
            code, _, err = xlt(capsys, "show", str(run_id))
            assert code == 1 and "HTTP 401" in err and "(the token from XLT_TOKEN was refused)" in err
            code, _, err = xlt(capsys, "cancel", str(run_id), "--token", vera.token)  # the flag beats both
            assert code == 1 and f"XLT Lab at {url}: HTTP 403: " in err
            assert xlt(capsys, "cancel", str(run_id), "--token", alice.token)[:2] == (
                0,
                f"run {run_id} cancelled\n",
            )
