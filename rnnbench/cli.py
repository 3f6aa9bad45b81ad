"""The `rnnbench` command: list, sweep, report, gradients.

Heavy libraries are imported inside the commands that need them, so `rnnbench --help` and
`rnnbench list` answer at once. Bad input is one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

DEFAULT_OUT = Path("results") / "sweep.csv"


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors a user can cause into one line and exit code 2."""
    from rnnbench.backends import BackendError
    from rnnbench.csvlog import OutputError
    from rnnbench.registry import RegistryError
    from rnnbench.study import SpecError

    try:
        yield
    except (SpecError, RegistryError, OutputError, BackendError, ValueError) as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rnnbench", message="rnnbench %(version)s")
def main() -> None:
    """How does a recurrent model's accuracy fall as the dependency length grows?

    rnnbench trains every (task, model, length, seed) cell of a study on synthetic sequence tasks
    and tabulates held-out accuracy against dependency length: the classic lesson (a tanh RNN
    forgets, an LSTM remembers) as a measurement. Start with `rnnbench list`, then
    `rnnbench sweep`.
    """


@main.command("list")
def list_command() -> None:
    """List the registered tasks and models, and where each came from."""
    from rnnbench.registry import models, tasks

    with user_errors():
        for title, registry in (("Tasks", tasks), ("Models", models)):
            entries = registry.items()
            click.echo(f"{title}:")
            width = max((len(e.name) for e in entries), default=0)
            for e in entries:
                click.echo(f"  {e.name:<{width}}  {e.description}  [{e.source}]")


def _comma_ints(ctx: click.Context, param: click.Parameter, value: str | None) -> list[int] | None:
    if value is None:
        return None
    try:
        numbers = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(
            f"{value!r}: expected a comma list of integers, e.g. 5,10,20"
        ) from None
    if not numbers:
        raise click.BadParameter(f"{value!r}: expected a comma list of integers, e.g. 5,10,20")
    return numbers


def _comma_floats(ctx: click.Context, param: click.Parameter, value: str | None):
    if value is None:
        return None
    try:
        return [float(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected a comma list of numbers, e.g. 1,4") from None


def _learning_rate(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    if value is None or value == "paper":
        return value
    try:
        return float(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected a number such as 0.01, or paper") from None


def sweep_options(f: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--task", "tasks", multiple=True, help="Task to run (repeatable). "
                     "Default: the spec's tasks, or every built-in task."),
        click.option("--model", "models", multiple=True, help="Model to run (repeatable). "
                     "Default: numpy-rnn, keras-simplernn, keras-lstm."),
        click.option("--lengths", callback=_comma_ints, metavar="N,N,...",
                     help="Dependency lengths, e.g. 5,10,20 (sequence length for adding, "
                     "lag for delayed-recall)."),
        click.option("--seeds", type=click.IntRange(min=1), help="Number of seeds per cell "
                     "(seeds 0..N-1). Default 3."),
        click.option("--max-sequences", type=click.IntRange(min=1), help="Training budget per "
                     "cell, in sequences; a cell stops earlier once solved."),
        click.option("--units", type=click.IntRange(min=1), help="Recurrent width of every "
                     "model. Default 32."),
        click.option("--batch-size", type=click.IntRange(min=1), help="Sequences per update. "
                     "Default 64; 1 with --optimizer sgd is the 1997 paper's online regime."),
        click.option("--learning-rate", metavar="RATE|paper", callback=_learning_rate,
                     help="Step size. Default 3e-3 (Adam); 'paper' takes each task's reference "
                     "rate (the 1997 tasks carry the paper's)."),
        click.option("--optimizer", type=click.Choice(["adam", "sgd"]), help="adam (default, "
                     "each variable's gradient clipped to norm 1) or sgd (plain gradient "
                     "descent, as in 1997)."),
        click.option("--forget-bias", callback=_comma_floats, metavar="B,B,...",
                     help="Initial forget-gate bias of LSTM models; several values run each. "
                     "Default: the spec's (the teaching study runs 1,4), else 1 as Keras."),
        click.option("--backend", type=click.Choice(["tensorflow", "jax", "torch"]),
                     help="Keras backend of the Keras models (default tensorflow, or "
                     "KERAS_BACKEND). jax and torch are extras: pip install 'rnnbench[jax]'; "
                     "benchmarks/README.md says which is fastest per model."),
        click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help=f"Results CSV; rows are appended as cells finish and cells already "
                     f"there are skipped. Default {DEFAULT_OUT}."),
        click.option("--workers", "-j", type=click.IntRange(min=1), default=None,
                     envvar="RNNBENCH_WORKERS", show_envvar=True,
                     help="Worker processes running cells side by side. Default: the number of "
                     "cores. 1 runs the cells in this process (easiest to debug)."),
        click.option("--fresh", is_flag=True, help="Start over: move the existing results CSV "
                     "aside (renamed with a timestamp, never deleted) and run every cell."),
        click.option("--retry-failed", is_flag=True, help="Also rerun the cells whose rows "
                     "say error, diverged, crashed or timeout; their old rows are replaced."),
        click.option("--cell-timeout", type=click.FloatRange(min=0, min_open=True),
                     metavar="SECONDS", help="Kill a cell that runs longer and record it as "
                     "timeout (runs cells in worker processes, even with --workers 1)."),
        click.option("--scheduler", metavar="tcp://HOST:PORT", help="Run the cells on this Dask "
                     "cluster instead of local processes (pip install 'rnnbench[dask]'; see "
                     "docs/cluster.md). The CSV is still written here."),
        click.option("--quiet", "-q", is_flag=True, help="No progress bar or per-cell lines."),
        click.option("--verbose", "-v", is_flag=True, help="Show TensorFlow's native start-up "
                     "lines on the terminal; by default they go to a log beside the CSV "
                     "(<out>.log, e.g. results/sweep.log)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


@main.command()
@click.argument("spec", required=False, type=click.Path(dir_okay=False, path_type=Path))
@sweep_options
def sweep(spec: Path | None, tasks, models, lengths, seeds, max_sequences, units,
          batch_size, learning_rate, optimizer, forget_bias, backend: str | None,
          out: Path | None, workers: int | None,
          fresh: bool, retry_failed: bool, cell_timeout: float | None, scheduler: str | None,
          quiet: bool, verbose: bool) -> None:
    """Train every (task, model, length, seed) cell and print accuracy against length.

    SPEC is a TOML study file such as tasks/smoke.toml; options override its fields. With no
    SPEC the default classroom study runs (tasks/teaching.toml, a few minutes on 2 cores) and
    writes results/sweep.csv. Each row is written the moment its cell finishes, so an
    interrupted sweep loses nothing: rerunning the same command resumes, running only the
    cells not yet in the CSV.
    """
    from rnnbench.csvlog import ResultsCSV
    from rnnbench.executors import default_workers
    from rnnbench.progress import progress_for
    from rnnbench.quiet import quiet_native
    from rnnbench.runner import cell_key, check_executor_options, run_sweep, runs_in_process
    from rnnbench.study import resolve_study
    from rnnbench.terminal_table import format_tables

    with user_errors():
        study = resolve_study(
            spec, tasks=tasks, models=models, lengths=lengths, seeds=seeds,
            max_sequences=max_sequences, units=units, forget_bias=forget_bias, backend=backend,
            batch_size=batch_size, learning_rate=learning_rate, optimizer=optimizer,
        )
        cells = study.cells()
        check_executor_options(scheduler, cell_timeout)  # before --fresh moves anything
        out = out if out is not None else DEFAULT_OUT
        quiet_native(out.with_suffix(".log"), verbose)
        workers = workers if workers is not None else default_workers()
        if fresh:
            moved = ResultsCSV(out).move_aside()
            if moved is not None and not quiet:
                click.echo(f"rnnbench: --fresh: moved the old results to {moved}", err=True)
        progress = None if quiet else progress_for()

        def on_start(total: int, to_run: int) -> None:
            if quiet:
                return
            where = f"Dask scheduler {scheduler}" if scheduler else (
                "this process" if runs_in_process(workers, cell_timeout, scheduler)
                else f"{workers} worker process{'es' if workers > 1 else ''}")
            click.echo(f"rnnbench: {start_message(study.name, total, to_run, out, where)}",
                       err=True)
            if progress is not None:
                progress.start(to_run)

        try:
            df = run_sweep(cells, out=out, progress=progress, on_start=on_start,
                           workers=workers, cell_timeout=cell_timeout, scheduler=scheduler,
                           retry_failed=retry_failed)
        except KeyboardInterrupt:
            if progress is not None:
                progress.close()
            n = len(ResultsCSV(out).done() & {cell_key(c) for c in cells})
            click.echo(f"\nInterrupted: {n} of {_plural(len(cells), 'cell')} are done and saved "
                       f"in {out}. "
                       f"To resume, run: {resume_command()}", err=True)
            sys.exit(130)
        if progress is not None:
            progress.close()
    click.echo(format_tables(df))
    click.echo(f"\n{end_message(study.name, len(df), out)}")


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _written(path: Path) -> str:
    """When a results file was last written, as a local date and time."""
    import time

    try:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(path.stat().st_mtime))
    except OSError:
        return "earlier"


def start_message(study: str, total: int, to_run: int, out: Path, where: str) -> str:
    """What a sweep says before it trains: how many cells, and which ones earlier runs did."""
    done = total - to_run
    where = f"in {where}" if where == "this process" else f"on {where}"
    if done == 0:
        return (f"study {study!r}: {_plural(total, 'cell')} to train {where}; "
                f"rows go to {out}")
    earlier = f"{done} of {_plural(total, 'cell')} already in {out} " \
              f"(study {study!r}, written {_written(out)})"
    if to_run == 0:
        return f"{earlier}; nothing to train. Use --fresh to start over"
    return f"{earlier}; training the other {to_run} {where} (--fresh starts over)"


def end_message(study: str, shown: int, out: Path) -> str:
    """The line under the final table: what it covers, and what the CSV holds."""
    from rnnbench.csvlog import ResultsCSV

    held = len(ResultsCSV(out).rows())
    text = f"The table covers the {_plural(shown, 'cell')} of study {study!r}"
    if held != shown:
        return f"{text}; {out} holds {_plural(held, 'row')} in all."
    return f"{text}; their rows are in {out}."


def resume_command(argv: list[str] | None = None) -> str:
    """The command line that resumes this sweep: the same one without --fresh."""
    import shlex

    if argv is None:
        if Path(sys.argv[0]).name not in ("rnnbench", "cli.py", "__main__.py"):
            return "the same command again, without --fresh"  # e.g. called from Python
        argv = sys.argv[1:]
    args = list(argv)
    return shlex.join(["rnnbench", *[a for a in args if a != "--fresh"]])


@main.command()
@click.argument("results", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to write each table to, as CSV and Markdown (<study>_<table>.csv/.md); "
              "figures and the HTML page go there too. Created if needed.")
@click.option("--plot", is_flag=True, help="Write one PNG per task: accuracy against length, "
              "a line per model, a band over seeds, chance dashed (<study>_<task>.png; "
              "needs matplotlib). Default folder: the CSV's.")
@click.option("--html", "html", is_flag=True, help="Write one self-contained HTML page with the "
              "tables and figures (<study>.html; needs matplotlib). Default folder: the CSV's.")
def report(results: Path, out_dir: Path | None, plot: bool, html: bool) -> None:
    """Tables (and figures) of a results CSV: accuracy against dependency length.

    RESULTS is a CSV written by `rnnbench sweep`, complete or not, or several merged. Prints
    accuracy (mean ± sd over seeds, solved k/n), critical length, sample efficiency and cost per
    (task, model), with notes on duplicates, error rows and missing cells. The study is named
    after the CSV's file name. Never imports TensorFlow.
    """
    from rnnbench import report as rep

    with user_errors():
        study = results.stem
        built = rep.build_report(rep.read_results(results), study=study)
        click.echo(rep.format_report(built))
        folder = out_dir if out_dir is not None else results.parent
        written: list[Path] = []
        if out_dir is not None or plot or html:
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise rep.ReportError(f"cannot create {str(folder)!r}: {exc.strerror}") from None
        try:
            if out_dir is not None:
                written += rep.write_tables(built, folder)
            if plot or html:
                from rnnbench import plots

                figures = plots.task_figures(built)
                if plot:
                    written += plots.write_figures(built, figures, folder)
                if html:
                    from rnnbench.webpage import write_html

                    written.append(write_html(built, figures, folder))
        except OSError as exc:
            raise rep.ReportError(f"cannot write to {str(folder)!r}: {exc.strerror or exc}") \
                from None
        for path in written:
            click.echo(f"wrote {path}", err=True)


@main.command()
@click.option("--task", required=True, help="Task to measure on, e.g. adding.")
@click.option("--model", "models", multiple=True, required=True,
              help="Model to measure (repeatable: several share one CSV and plot).")
@click.option("--length", type=click.IntRange(min=1), required=True,
              help="Dependency length (sequence length for adding, lag for delayed-recall).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of models and data.")
@click.option("--units", type=click.IntRange(min=1), help="Recurrent width. Default 32.")
@click.option("--max-sequences", type=click.IntRange(min=1), help="Training budget, as in a "
              "sweep cell (training stops earlier once solved). Default: the sweep's, 64000.")
@click.option("--batch", type=click.IntRange(min=1), default=256, show_default=True,
              help="Sequences the gradient norms are averaged over.")
@click.option("--forget-bias", type=float, help="Initial forget-gate bias of LSTM models. "
              "Default 1 (Keras's).")
@click.option("--same-weights", is_flag=True, help="Start every model from the first model's "
              "initial weights (twins: numpy-rnn/keras-simplernn, numpy-lstm/keras-lstm).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the norms to this CSV (step, steps_back, norm, model, phase, ...).")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path),
              help="Draw log-scale norm against steps back from the end to this PNG.")
@click.option("--verbose", "-v", is_flag=True, help="Show TensorFlow's native start-up lines; "
              "by default they go to a log file (beside --out, else in the temporary folder).")
def gradients(task, models, length, seed, units, max_sequences, batch, forget_bias,
              same_weights, out, plot, verbose) -> None:
    """Measure how much of the error signal at the last step reaches each earlier step.

    For each model, at initialisation and after training on the task (the sweep's training loop
    and budget), prints and saves the norm of dLoss/dh_t for every step t, averaged over a batch.
    A tanh RNN's norms shrink step by step going back in time: the vanishing gradient.
    """
    from rnnbench.gradients import diagnose, summary_lines, write_csv
    from rnnbench.quiet import native_log_path, quiet_native

    with user_errors():
        quiet_native(out.with_suffix(".log") if out is not None else native_log_path(), verbose)
        if plot is not None:
            _require_matplotlib()
        click.echo(f"rnnbench: gradients of {', '.join(models)} on {task} length {length}, "
                   "at init and after training", err=True)
        rows = diagnose(task, models, length, seed=seed, units=units,
                        max_sequences=max_sequences, batch=batch, same_weights=same_weights,
                        forget_bias=forget_bias)
        for line in summary_lines(rows):
            click.echo(line)
        if out is not None:
            write_csv(rows, out)
            click.echo(f"{_plural(len(rows), 'row')} in {out}")
        if plot is not None:
            from rnnbench.gradients import plot_gradients

            plot_gradients(rows, plot, title=f"{task}, length {length}, seed {seed}")
            click.echo(f"plot in {plot}")


def _require_matplotlib() -> None:
    """--plot needs matplotlib: say so in one line (exit 2) before any training."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        click.echo("Error: --plot needs matplotlib: pip install 'rnnbench[plot]'", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
