"""The settings table is the one place a setting is written (issue 17): the study file's keys and
checks, the regime keys, the sweep's options, docs/cli.md and a SweepCell's defaults all follow it;
and the command line's choices mean what they say, checked through `--dry-run`."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from rnnbench.cli import main
from rnnbench.schema import SweepCell
from rnnbench.settings import BY_KEY, CELL_KEYS, SETTINGS, help_text
from rnnbench.study import SpecError, StudySpec

REPO = Path(__file__).resolve().parent.parent
HOCHREITER = REPO / "tasks" / "hochreiter1997.toml"
# The sweep options that are not study settings: where and how cells run, not what they are.
RUN_OPTIONS = {"--dry-run", "--out", "--workers", "--fresh", "--retry-failed", "--cell-timeout",
               "--scheduler", "--in-process", "--wait", "--memory-limit", "--quiet", "--verbose",
               "--help"}


# `rnnbench gradients`' own options: what to measure (one task, length and seed; the models)
# and where the norms go. Every other option is a cell setting of the table.
GRADIENT_OPTIONS = {"--task", "--model", "--length", "--seed", "--batch", "--same-weights",
                    "--out", "--plot", "--verbose", "--help"}


def command(name: str) -> click.Command:
    found = main.get_command(click.Context(main), name)
    assert found is not None
    return found


def sweep_command() -> click.Command:
    return command("sweep")


def options_of(name: str) -> dict[str, click.Option]:
    return {p.opts[0]: p for p in command(name).params if isinstance(p, click.Option)}


@pytest.mark.parametrize(("name", "own", "keys"), [
    ("sweep", RUN_OPTIONS, [s.key for s in SETTINGS]),
    ("gradients", GRADIENT_OPTIONS, list(CELL_KEYS)),
])
def test_every_setting_is_one_option_and_every_other_option_is_the_commands_own(name, own, keys):
    """The sweep takes every setting of the table, the gradients command every cell setting
    (what a cell trains with): each as the table's flag, landing on its key, with its help and
    default, read and checked by the table (so refused in the same words)."""
    from rnnbench.cli import SettingType

    options = options_of(name)
    assert {BY_KEY[k].flag for k in keys} == set(options) - own
    for setting in (BY_KEY[k] for k in keys):
        option = options[setting.flag]
        assert option.name == setting.key, setting  # the option lands on the study key
        assert option.multiple == setting.repeat, setting
        assert option.help == help_text(setting), setting
        assert f"Default: {setting.shown_default or ''}" in (option.help or ""), setting
        if not setting.repeat:
            assert isinstance(option.type, SettingType) and option.type.setting is setting


def test_the_study_file_accepts_exactly_the_table_and_regimes_its_regime_keys():
    with pytest.raises(SpecError, match="unknown key 'momentum'; allowed keys: ") as refused:
        StudySpec.from_mapping({"momentum": 0.9})
    allowed = str(refused.value).split("allowed keys: ")[1].split(", ")
    assert allowed == [s.key for s in SETTINGS] + ["regimes"]
    with pytest.raises(SpecError, match="allowed: ") as refused:
        StudySpec.from_mapping({"regimes": [{"models": ["numpy-rnn"], "seeds": 2}]})
    regime_keys = str(refused.value).split("allowed: ")[1].split(", ")
    assert regime_keys == [s.key for s in SETTINGS if s.regime]


@pytest.mark.parametrize(("name", "keys"), [("sweep", [s.key for s in SETTINGS]),
                                           ("gradients", list(CELL_KEYS))])
def test_the_command_reference_lists_every_settings_flag_with_its_help(name, keys):
    page = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    section = page[page.index(f"## `rnnbench {name}`"):]
    section = section[:section.index("\n## ", 1)] if "\n## " in section[1:] else section
    flat = " ".join(section.split())
    for setting in (BY_KEY[k] for k in keys):
        assert re.search(rf"^\s+{re.escape(setting.flag)} ", section, re.M), setting.flag
        first_words = " ".join(setting.help.split()[:4])
        assert first_words in flat, (setting.flag, first_words)


def test_a_sweep_cell_has_a_field_per_cell_setting_with_the_tables_default():
    names = [f.name for f in dataclasses.fields(SweepCell)]
    assert names[:4] == ["task", "model", "length", "seed"]
    assert tuple(names[4:]) == CELL_KEYS
    for f in dataclasses.fields(SweepCell)[4:]:
        if f.name not in ("forget_bias", "backend"):  # per model; the process's Keras backend
            assert f.default == BY_KEY[f.name].default, f.name


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.key)
def test_each_bad_value_is_refused_alike_by_study_file_and_option(setting, tmp_path):
    """The same check behind both: one line naming the key or flag and the bad value."""
    bad = {"name": "two\nlines", "tasks": [], "models": 3, "lengths": [], "seeds": 0, "units": 0,
           "max_sequences": 0, "batch_size": 0, "learning_rate": "fast", "forget_bias": "x",
           "chunk_size": 0, "eval_size": -1, "solve_threshold": 2.0, "backend": "theano",
           "optimizer": "rmsprop", "rule": "vote"}[setting.key]
    with pytest.raises(SpecError, match=f"{setting.key} = ") as refused:
        StudySpec.from_mapping({setting.key: bad})
    allowed = str(refused.value).split("expected ")[1]
    if setting.repeat:  # --task/--model are names; an empty or odd one is refused as a name
        return
    text = ",".join(map(str, bad)) if isinstance(bad, list) else str(bad)
    result = CliRunner().invoke(main, ["sweep", setting.flag, text, "--dry-run"])
    assert result.exit_code == 2, result.output
    assert setting.flag in result.output and allowed in result.output, result.output
    if setting.cell:  # the gradients command refuses it alike, before anything is built
        result = CliRunner().invoke(main, ["gradients", "--task", "adding", "--model",
                                           "numpy-rnn", "--length", "5", setting.flag, text])
        assert result.exit_code == 2, result.output
        assert setting.flag in result.output and allowed in result.output, result.output


def test_seeds_are_a_count_or_a_list_on_the_command_line_as_in_a_study_file():
    base = ["--model", "numpy-rnn", "--task", "delayed-recall", "--lengths", "5"]
    assert cells_of(dry_run(*base, "--seeds", "2"))[0][3] == "0, 1"
    assert cells_of(dry_run(*base, "--seeds", "0,3,7"))[0][3] == "0, 3, 7"
    assert cells_of(dry_run(*base, "--seeds", "7,"))[0][3] == "7"
    assert cells_of(dry_run(*base, "--seeds", "3,3,1"))[0][3] == "3, 1"  # each seed once
    assert StudySpec.from_mapping({"seeds": [0, 3, 7]}).seed_list() == [0, 3, 7]
    for bad in ("0", "-1,2", "1,x", "4294967296,"):
        result = CliRunner().invoke(main, ["sweep", *base, "--seeds", bad, "--dry-run"])
        assert result.exit_code == 2
        allowed = "expected a positive count, or a list of integers from 0 to 4294967295"
        assert allowed in result.output


def test_the_gradients_command_measures_the_cells_a_sweep_with_its_settings_would_run():
    """Same settings, same cells: the paper's rate resolved per task, the forget-gate biases
    per model (one cell each), a setting a model cannot take refused in the sweep's words."""
    import rnnbench
    from rnnbench.gradients import gradient_cells

    given = {"optimizer": "sgd", "batch_size": 1, "learning_rate": "paper",
             "max_sequences": 500, "forget_bias": [1.0, 4.0], "rule": "held-out"}
    cells = gradient_cells("adding-1997", ["numpy-lstm1997", "numpy-lstm"], 20, 3, **given)
    swept = rnnbench.sweep(tasks="adding-1997", models=["numpy-lstm1997", "numpy-lstm"],
                           lengths=[20], seeds=[3], dry_run=True, **given)
    import pandas as pd

    pd.testing.assert_frame_equal(pd.DataFrame([dataclasses.asdict(c) for c in cells]), swept)
    assert [(c.model, c.forget_bias, c.learning_rate) for c in cells] == [
        ("numpy-lstm1997", None, 0.5), ("numpy-lstm", 1.0, 0.5), ("numpy-lstm", 4.0, 0.5)]
    with pytest.raises(SpecError, match="unknown setting 'seeds'; allowed: units, "):
        gradient_cells("adding", ["numpy-rnn"], 5, seeds=2)
    with pytest.raises(SpecError, match="lengths: .*1"):
        gradient_cells("adding", ["numpy-rnn"], 1)


def dry_run(*args: str) -> str:
    result = CliRunner().invoke(main, ["sweep", *map(str, args), "--dry-run"])
    assert result.exit_code == 0, result.output
    return result.output


def cells_of(output: str) -> list[tuple[str, str, str, str]]:
    """(task, model label, lengths, seeds) per line of a dry run's listing."""
    return re.findall(r"^  (\S+)  (.+?)  lengths (.+?)  seeds (.+?)  \(", output, re.M)


def test_the_readmes_command_for_the_paper_net_runs_only_that_net():
    """Issue 17's first command: before, it also ran the teaching study's regime (numpy-rnn and
    keras-lstm on adding-1997 at 20 and 50)."""
    out = dry_run("--task", "adding-1997", "--model", "numpy-lstm1997", "--optimizer", "sgd",
                  "--batch-size", "1", "--learning-rate", "paper", "--lengths", "100",
                  "--seeds", "2", "--max-sequences", "200000")
    assert cells_of(out) == [("adding-1997", "numpy-lstm1997", "100", "0, 1")]
    assert "2 cells in 1 group" in out
    # the paper's learning rate for adding (Sec. 5.4: 0.5), online SGD, the budget given
    assert "max_sequences=200000 batch_size=1 learning_rate=0.5" in out
    assert "optimizer=sgd" in out


def test_choosing_one_model_of_the_1997_study_runs_only_it():
    """Issue 17's second command: keras-lstm, which no group names, runs with the top level's
    settings (no forget bias there, so Keras's 1; 10 seeds; the top level's budget for that task
    and its online SGD), and the paper's net, which the top level names, does not run."""
    out = dry_run(HOCHREITER, "--model", "keras-lstm", "--task", "two-sequence-1997",
                  "--lengths", "100")
    assert cells_of(out) == [("two-sequence-1997", "keras-lstm (fb=1)", "100",
                              "0, 1, 2, 3, 4, 5, 6, 7, 8, 9")]
    assert "max_sequences=20100 batch_size=1" in out and "optimizer=sgd" in out


def test_a_task_no_group_budgets_takes_the_settings_tables_default():
    out = dry_run(HOCHREITER, "--model", "keras-lstm", "--task", "delayed-recall",
                  "--lengths", "5", "--seeds", "1", "--learning-rate", "0.003")
    assert cells_of(out) == [("delayed-recall", "keras-lstm (fb=1)", "5", "0")]
    assert f"max_sequences={BY_KEY['max_sequences'].default}" in out


def test_a_chosen_model_keeps_the_settings_of_the_group_that_names_it():
    out = dry_run(HOCHREITER, "--model", "numpy-lstm", "--task", "long-lag-1997", "--seeds", "1")
    assert cells_of(out) == [("long-lag-1997", "numpy-lstm (fb=4)", "100", "0")]
    assert "max_sequences=100000 batch_size=64 learning_rate=0.003" in out  # the regime's


def test_a_model_named_at_the_top_and_in_a_regime_runs_in_both():
    spec = StudySpec.teaching().with_overrides(models=("numpy-rnn",), seeds=1)
    assert {(c.task, c.length, c.rule) for c in spec.cells()} == {
        ("delayed-recall", 5, "task"), ("delayed-recall", 20, "task"),
        ("delayed-recall", 50, "task"), ("delayed-recall", 100, "task"),
        ("adding-1997", 20, "held-out"), ("adding-1997", 50, "held-out")}


def test_a_setting_given_on_the_command_line_reaches_every_group():
    spec = StudySpec.teaching().with_overrides(lengths=[20], max_sequences=500, seeds=1,
                                               forget_bias=[2.0], rule="task")
    cells = spec.cells()
    assert {c.task for c in cells} == {"delayed-recall", "adding-1997"}
    assert {(c.length, c.max_sequences, c.seed, c.rule) for c in cells} == {(20, 500, 0, "task")}
    assert {c.forget_bias for c in cells if c.model == "keras-lstm"} == {2.0}
    # ... and the study as written is unchanged
    assert {c.rule for c in StudySpec.teaching().cells() if c.task == "adding-1997"} == {
        "held-out"}


def test_a_chosen_task_no_chosen_group_has_lengths_for_is_refused_in_one_line():
    result = CliRunner().invoke(main, ["sweep", "--model", "numpy-lstm", "--task", "adding-1997",
                                       "--dry-run"])
    assert result.exit_code == 2
    assert result.output.startswith("Error: lengths: no entry for task 'adding-1997'")


def test_a_dry_run_counts_the_study_it_would_run_and_writes_nothing(tmp_path):
    out = dry_run("--out", tmp_path / "x.csv")  # the teaching study
    assert "study 'teaching': 84 cells in 2 groups" in out
    assert re.findall(r"^(\d+) cells: ", out, re.M) == ["72", "12"]
    assert sum(int(n) for n in re.findall(r"\((\d+) cells\)$", out, re.M)) == 84
    assert not list(tmp_path.iterdir())


def test_the_readmes_study_example_is_a_valid_study():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    example = readme.split("## Studies are data", 1)[1].split("```toml\n", 1)[1].split("```")[0]
    from rnnbench.study import _toml_loads

    spec = StudySpec.from_mapping(_toml_loads(example), where="README")
    assert spec.regimes and spec.name == "my-study"


def test_choosing_a_task_runs_it_in_the_groups_that_have_it():
    """The README's example: delayed recall for the chosen models, without the regime that runs
    only adding-1997; and adding-1997 at a new length runs in that regime alone."""
    out = dry_run("--task", "delayed-recall", "--lengths", "5,20,50", "--seeds", "2",
                  "--model", "numpy-rnn", "--model", "keras-lstm")
    assert cells_of(out) == [
        ("delayed-recall", label, "5, 20, 50", "0, 1")
        for label in ("numpy-rnn", "keras-lstm (fb=1)", "keras-lstm (fb=4)")]
    out = dry_run("--task", "adding-1997", "--lengths", "100", "--seeds", "1")
    assert cells_of(out) == [("adding-1997", label, "100", "0")
                             for label in ("numpy-rnn", "keras-lstm (fb=4)")]
    assert "rule=held-out" in out and "rule=task" not in out


def test_the_api_takes_every_setting_and_its_dry_run_lists_the_cells():
    import rnnbench

    doc = rnnbench.sweep.__doc__ or ""
    for setting in SETTINGS:
        assert f"{setting.key}:" in doc, setting.key
    df = rnnbench.sweep(tasks="adding-1997", models="numpy-lstm1997", optimizer="sgd",
                        batch_size=1, learning_rate="paper", lengths=[100], seeds=2,
                        max_sequences=200_000, dry_run=True)
    assert df[["task", "model", "length", "seed", "learning_rate"]].values.tolist() == [
        ["adding-1997", "numpy-lstm1997", 100, 0, 0.5],
        ["adding-1997", "numpy-lstm1997", 100, 1, 0.5]]
    with pytest.raises(SpecError, match="unknown option 'momentum'; allowed: name, tasks"):
        rnnbench.sweep(momentum=0.9, dry_run=True)


def test_the_readmes_dry_run_is_what_the_command_prints(monkeypatch):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("```console\n$ rnnbench sweep tasks/hochreiter1997.toml", 1)[1]
    command, _, printed = block.split("```")[0].partition("\n")
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    assert dry_run("tasks/hochreiter1997.toml", *command.split()[:-1]) == printed


def test_a_plugin_factory_hears_the_hyper_parameters_of_the_public_contract(registered):
    """A factory `(task, units, seed, **hparams)`: learning_rate and batch_size always, the
    forget-gate bias when the cell has one, the optimizer only when it is not the default."""
    from rnnbench.harness import make_model, make_task
    from rnnbench.registry import models, register_model

    heard: list[dict] = []

    class Built:
        num_params = 0

    @register_model("hears-all")
    def hears_all(task, units, seed, **hparams):
        heard.append(hparams)
        return Built()

    registered(models, "hears-all")
    for cell, expected in [
        (SweepCell("adding", "hears-all", 5, 0), {"learning_rate": 3e-3, "batch_size": 64}),
        (SweepCell("adding", "hears-all", 5, 0, forget_bias=4.0, optimizer="sgd",
                   learning_rate=0.5, batch_size=1),
         {"learning_rate": 0.5, "batch_size": 1, "forget_bias": 4.0, "optimizer": "sgd"}),
    ]:
        make_model(cell, make_task(cell))
        assert heard.pop() == expected


@pytest.mark.parametrize("study", ["teaching", "hochreiter1997", "literature", "copy-memory-short"])
def test_the_studies_expand_to_exactly_the_cells_of_their_committed_rows(study, monkeypatch):
    """Each committed results CSV is exactly its study as written (config by config): rerunning
    the study resumes and trains nothing, and no row comes from a config the study no longer has
    (a setting's default moved by the settings table would show here)."""
    from rnnbench.csvlog import ResultsCSV, config_key
    from rnnbench.runner import cell_key

    monkeypatch.delenv("KERAS_BACKEND", raising=False)  # the rows ran on tensorflow
    cells = StudySpec.from_toml(REPO / "tasks" / f"{study}.toml").cells()
    rows = ResultsCSV(REPO / "results" / f"{study}.csv").rows()
    assert len(rows) == len(cells) == len({config_key(r) for r in rows})  # one row per cell
    assert {config_key(r) for r in rows} == {cell_key(c) for c in cells}


def test_the_readmes_prose_states_the_tables_defaults():
    """The README describes the shared footing in words; its numbers are the table's defaults,
    so a changed default cannot leave the README describing the old one."""
    flat = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())
    footing = re.search(r"share one width \((\d+) units\), one optimizer \((\w+), learning rate "
                        r"([\d.e-]+),.*?\), batch (\d+)", flat)
    assert footing is not None
    units, optimizer, rate, batch = footing.groups()
    assert int(units) == BY_KEY["units"].default and int(batch) == BY_KEY["batch_size"].default
    assert optimizer.lower() == BY_KEY["optimizer"].default
    assert float(rate) == BY_KEY["learning_rate"].default
    threshold = re.search(r"reaches `solve_threshold` \(([\d.]+)\)", flat)
    assert threshold is not None and float(threshold[1]) == BY_KEY["solve_threshold"].default
