"""The `rnnbench` command: list, sweep, report, gradients.

Heavy libraries are imported inside the commands that need them, so `rnnbench --help` and
`rnnbench list` answer at once. Bad input (a UserError) is one line on stderr and exit code 2, a
fault of the machine (disk full, I/O error, out of memory) one line and exit code 1, never a
traceback; anything else escaping is a bug and shows its traceback. SIGTERM and SIGHUP stop a
command as Ctrl-C does (a sweep keeps its rows, stops its workers and prints how to resume).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import click

DEFAULT_OUT = Path("results") / "sweep.csv"


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors a user can cause into one line and exit code 2, and the machine's faults
    (disk full, I/O errors, no memory left) into one line and exit code 1."""
    from rnnbench.errors import MachineError, UserError, one_line

    try:
        yield
    except UserError as exc:
        click.echo(f"Error: {one_line(exc, 2000)}", err=True)
        sys.exit(2)
    except BrokenPipeError:  # `rnnbench report x.csv | head`: the reader left, nothing is wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second EPIPE at exit
        sys.exit(0)
    except (MachineError, OSError, MemoryError) as exc:
        what = exc if str(exc) else type(exc).__name__
        click.echo(f"Error: {one_line(what, 2000)}", err=True)
        sys.exit(1)


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where Ctrl-C would be, so both take the same clean way out."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _terminate(signum: int, frame: Any) -> None:
    raise Terminated(signum)


def _handle_termination() -> None:
    """SIGTERM and SIGHUP act as Ctrl-C (main thread only: elsewhere signals stay as they are)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None and signal.getsignal(signum) in (signal.SIG_DFL, None):
            signal.signal(signum, _terminate)


def _skip_plugins(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> None:
    from rnnbench.registry import SKIP_PLUGINS_ENV

    if value:  # an environment variable, so the worker processes leave them out too
        before = [s for s in os.environ.get(SKIP_PLUGINS_ENV, "").split(",") if s]
        os.environ[SKIP_PLUGINS_ENV] = ",".join([*before, *value])


class OneLineGroup(click.Group):
    """click's group, but a bad option or argument is one line (`Error: ...`) and exit code 2,
    like every other refusal, instead of the usage text and a hint around it."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            where = f" (see: {exc.ctx.command_path} --help)" if exc.ctx is not None else ""
            click.echo(f"Error: {' '.join(exc.format_message().split())}{where}", err=True)
            sys.exit(2)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort as exc:  # Ctrl-C or a terminating signal outside a sweep
            signum = getattr(exc.__context__, "signum", None)
            click.echo("Aborted!", err=True)
            sys.exit(128 + signum if signum else 1)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=OneLineGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rnnbench", message="rnnbench %(version)s")
@click.option("--skip-plugin", multiple=True, metavar="NAME", callback=_skip_plugins,
              expose_value=False, is_eager=True,
              help="Do not load this plugin (its entry-point name, distribution or module; "
              "repeatable), e.g. one whose import hangs. RNNBENCH_NO_PLUGINS=1 skips them all.")
def main() -> None:
    """How does a recurrent model's accuracy fall as the dependency length grows?

    rnnbench trains every (task, model, length, seed) cell of a study on synthetic sequence tasks
    and tabulates held-out accuracy against dependency length: the classic lesson (a tanh RNN
    forgets, an LSTM remembers) as a measurement. Start with `rnnbench list`, then
    `rnnbench sweep`.
    """
    _handle_termination()
    _one_line_warnings()


def _one_line_warnings() -> None:
    """rnnbench's own warnings (a plugin left out, ...) shown as one `rnnbench: warning:` line
    each, not Python's two lines with a source path; other warnings as Python formats them.
    (formatwarning, not showwarning: recording warnings, as tests do, stays untouched.)"""
    import warnings

    from rnnbench.errors import one_line

    python_format = warnings.formatwarning
    if getattr(python_format, "__name__", "") == "_rnnbench_format":
        return

    def _rnnbench_format(message: Any, category: Any, filename: str, lineno: int,
                         line: str | None = None) -> str:
        text = str(message)
        if text.startswith("rnnbench "):
            return f"rnnbench: warning: {one_line(text[len('rnnbench '):], 2000)}\n"
        return python_format(message, category, filename, lineno, line)

    warnings.formatwarning = _rnnbench_format


@main.command("list")
def list_command() -> None:
    """List the registered tasks and models, and where each came from."""
    from rnnbench.models.base import traits_of
    from rnnbench.registry import models, tasks

    with user_errors():
        undeclared = False
        for title, registry in (("Tasks", tasks), ("Models", models)):
            entries = registry.items()
            click.echo(f"{title}:")
            width = max((len(e.name) for e in entries), default=0)
            for e in entries:
                mark = " *" if registry is models and traits_of(e.obj).defaults_used() else ""
                undeclared = undeclared or bool(mark)
                click.echo(list_line(e.name, width, e.description, e.source, mark))
        if undeclared:
            click.echo("* declares no cost or memory traits (ModelTraits): priced and sized as "
                       "a Keras LSTM")


LIST_COLUMNS = 100


def list_line(name: str, width: int, description: str, source: str, mark: str = "") -> str:
    """One `rnnbench list` entry within LIST_COLUMNS columns: a long description wraps under
    itself, the source in brackets (and any mark) at its end."""
    import textwrap

    indent = " " * min(2 + width + 2, 40)
    text = f"  {name:<{width}}  {description}  [{source}]{mark}"
    return textwrap.fill(text, LIST_COLUMNS, subsequent_indent=indent, break_long_words=True,
                         break_on_hyphens=False)


class FiniteFloat(click.ParamType):
    """A finite number in (low, high]: refuses nan and inf, which click's FloatRange lets in."""

    name = "number"

    def __init__(self, low: float = 0.0) -> None:
        self.low = low

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        import math

        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not (math.isfinite(number) and number > self.low):
            above = f" above {self.low:g}" if math.isfinite(self.low) else ""
            self.fail(f"{value!r}: expected a finite number{above}", param, ctx)
        return number


class SettingType(click.ParamType):
    """A setting's command-line text, read and checked by the settings table (rnnbench.settings),
    so a bad value is refused as the study file's would be, before anything runs."""

    def __init__(self, setting: Any) -> None:
        self.setting = setting
        self.name = setting.metavar or setting.key

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        from rnnbench.settings import NotAllowedError

        if not isinstance(value, str):
            return value
        try:
            parsed = self.setting.parse(value)
        except ValueError:
            parsed = value  # the check says what is allowed
        try:
            return self.setting.check(parsed)
        except NotAllowedError as exc:
            self.fail(f"{value!r} is not allowed; expected {exc}", param, ctx)


def setting_options(keys: tuple[str, ...] | None = None,
                    ) -> list[Callable[[Callable[..., Any]], Callable[..., Any]]]:
    """One option per setting of the table (or of those `keys`), named by its key (so
    `**settings` of a command)."""
    from rnnbench.settings import SETTINGS, help_text

    return [
        click.option(s.flag, s.key, multiple=s.repeat, metavar=s.metavar or None,
                     type=click.STRING if s.repeat else SettingType(s), help=help_text(s))
        for s in SETTINGS if keys is None or s.key in keys
    ]


def _not_empty(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """An empty path ('', which click makes '.') or a folder is no file name."""
    if value is not None and (not value.name.strip() or str(value).strip() in ("", ".")):
        raise click.BadParameter("an empty path (or '.') is not a file name; give one such as "
                                 "results/sweep.csv")
    return value


def sweep_options(f: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        *setting_options(),
        click.option("--dry-run", is_flag=True, help="Print the cells the command would run, "
                     "grouped by their settings and counted, and train nothing."),
        click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     callback=_not_empty,
                     help=f"Results CSV; rows are appended as cells finish and cells already "
                     f"there are skipped. Default {DEFAULT_OUT}."),
        click.option("--workers", "-j", type=click.IntRange(min=1), default=None,
                     envvar="RNNBENCH_WORKERS", show_envvar=True,
                     help="Worker processes running cells side by side. Default: the number of "
                     "cores. 1 runs them one at a time in one worker process (--in-process: "
                     "in this process, easiest to debug)."),
        click.option("--fresh", is_flag=True, help="Start over: move the existing results CSV "
                     "aside (renamed with a timestamp, never deleted) and run every cell."),
        click.option("--retry-failed", is_flag=True, help="Also rerun the cells whose rows "
                     "say error, diverged, crashed or timeout; their old rows are replaced."),
        click.option("--cell-timeout", type=FiniteFloat(0.0),
                     metavar="SECONDS", help="Kill a cell that runs longer and record it as "
                     "timeout (runs cells in worker processes, even with --workers 1)."),
        click.option("--scheduler", metavar="tcp://HOST:PORT", help="Run the cells on this Dask "
                     "cluster instead of local processes (pip install 'rnnbench[dask]'; see "
                     "docs/cluster.md). The CSV is still written here."),
        click.option("--in-process", is_flag=True, envvar="RNNBENCH_IN_PROCESS",
                     help="With --workers 1 (and no --cell-timeout), run the cells in this process "
                     "(for a debugger, or a "
                     "model registered only here). By default even one worker is a process of its "
                     "own, so a model that exits or crashes costs one crashed row, not the sweep."),
        click.option("--wait", is_flag=True, help="If another sweep is writing the same --out, "
                     "wait for it to finish instead of stopping (the cells it ran are skipped)."),
        click.option("--memory-limit", metavar="SIZE", help="Refuse, before anything runs, a "
                     "study whose largest cell times the workers is estimated above SIZE: e.g. "
                     "8GB, 512MB, 60% (of this machine's memory) or none. Default 50%."),
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
def sweep(spec: Path | None, dry_run: bool, out: Path | None, workers: int | None,
          fresh: bool, retry_failed: bool, cell_timeout: float | None, scheduler: str | None,
          in_process: bool, wait: bool, memory_limit: str | None, quiet: bool,
          verbose: bool, **settings: Any) -> None:
    """Train every (task, model, length, seed) cell and print accuracy against length.

    SPEC is a TOML study file such as tasks/smoke.toml. A setting given as an option applies
    to every group of the study (its top level and each [[regimes]] group); --model and --task
    choose which of its models and tasks run; --dry-run shows the cells first. With no SPEC
    the default classroom study runs (tasks/teaching.toml, a few minutes on 2 cores) and
    writes results/sweep.csv. Each row is written the moment its cell finishes, so an
    interrupted sweep loses nothing: rerunning the same command resumes, running only the
    cells not yet in the CSV.
    """
    from rnnbench import memory
    from rnnbench.csvlog import ResultsCSV, locked
    from rnnbench.executors import default_workers
    from rnnbench.progress import progress_for
    from rnnbench.quiet import quiet_native
    from rnnbench.runner import cell_key, check_executor_options, run_sweep, runs_in_process
    from rnnbench.study import resolve_study
    from rnnbench.terminal_table import format_tables

    with user_errors(), ExitStack() as stack:
        out = out if out is not None else DEFAULT_OUT
        # Resolved once, here: a model that changes folder (os.chdir) must not redirect rows;
        # `out` stays as given, for the messages. Set before the study loads the plugins, whose
        # native start-up lines go to the log beside the CSV.
        where_out = Path(os.path.abspath(out))
        quiet_native(where_out.with_suffix(".log"), verbose)
        study = resolve_study(spec, **settings)
        cells = study.cells()
        if dry_run:
            from rnnbench.dry_run import describe

            click.echo(describe(cells, study.name))
            return
        # Everything that can be refused is refused here, before --fresh moves anything.
        check_executor_options(scheduler, cell_timeout)
        workers = workers if workers is not None else default_workers()
        in_process_ok = in_process  # only with one worker, no --cell-timeout, no --scheduler
        at_once = 1 if runs_in_process(workers, cell_timeout, scheduler, in_process) else workers
        limit = memory.Limit.parse(memory_limit)
        memory.check_cells(cells, limit, at_once if scheduler is None else 1)

        def warn(message: str) -> None:
            click.echo(f"rnnbench: warning: {message}", err=True)

        if fresh and scheduler is not None:  # refused now, or --fresh would move the CSV first
            from rnnbench.executors import check_scheduler_reachable

            check_scheduler_reachable(scheduler)
        lock = locked(out, wait=wait, on_wait=lambda holder: warn(
            f"--wait: {str(out)!r} is being written by another sweep ({holder}); waiting"))
        stack.enter_context(lock)  # held until the command ends: --fresh and every row
        if fresh:
            moved = ResultsCSV(out).move_aside()
            if moved is not None and not quiet:
                click.echo(f"rnnbench: --fresh: moved the old results to "
                           f"{out.with_name(moved.name)}", err=True)
        from rnnbench import study_record

        study_record.write(out, study.name, study.task_names(), fresh=fresh)  # for the report
        progress = None if quiet else progress_for()

        def on_start(total: int, to_run: int) -> None:
            if quiet:
                return
            where = f"Dask scheduler {scheduler}" if scheduler else (
                "this process" if runs_in_process(workers, cell_timeout, scheduler, in_process_ok)
                else f"{workers} worker process{'es' if workers > 1 else ''}")
            click.echo(f"rnnbench: {start_message(study.name, total, to_run, out, where)}",
                       err=True)
            if progress is not None:
                progress.start(to_run)

        try:
            df = run_sweep(cells, out=out, progress=progress, on_start=on_start,
                           workers=workers, cell_timeout=cell_timeout, scheduler=scheduler,
                           retry_failed=retry_failed, in_process=in_process_ok,
                           memory_limit="none", warn=warn)  # the limit was checked above
        except KeyboardInterrupt as exc:
            if progress is not None:
                progress.close()
            n = len(ResultsCSV(where_out).done() & {cell_key(c) for c in cells})
            why = f"Stopped by {exc.args[0]}" if isinstance(exc, Terminated) else "Interrupted"
            click.echo(f"\n{why}: {n} of {_plural(len(cells), 'cell')} are done and saved in "
                       f"{out}. To resume, run: {resume_command()}", err=True)
            sys.exit(128 + exc.signum if isinstance(exc, Terminated) else 130)
        if progress is not None:
            progress.close()
    click.echo(format_tables(df))
    click.echo(f"\n{end_message(study.name, len(df), out, where_out)}")


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


def end_message(study: str, shown: int, out: Path, resolved: Path | None = None) -> str:
    """The line under the final table: what it covers, and what the CSV holds (`out` as the
    user gave it, read at `resolved`, its path resolved when the sweep began)."""
    from rnnbench.csvlog import ResultsCSV

    held = len(ResultsCSV(resolved if resolved is not None else out).rows())
    text = f"The table covers the {_plural(shown, 'cell')} of study {study!r}"
    where = _relative(out)
    if held != shown:
        return f"{text}; {where} holds {_plural(held, 'row')} in all."
    return f"{text}; their rows are in {where}."


def _relative(path: Path) -> str:
    """`path` as given, or relative to the current folder when it is an absolute path inside
    it: a sweep's closing lines are pasted into committed results (results/teaching.txt), which
    must not name a folder of the machine that made them."""
    if path.is_absolute():
        try:
            return str(path.relative_to(Path.cwd()))
        except (ValueError, OSError):
            return str(path)
    return str(path)


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
        if plot or html:  # before any file is written, not after ten of them
            _require_matplotlib("--plot and --html" if plot and html else
                                "--plot" if plot else "--html")
        from rnnbench import study_record

        recorded, order = study_record.read(results)  # the study as its sweep named it
        study = recorded or results.stem
        df = rep.read_results(results)
        if df.attrs.get("unparsed"):
            click.echo(f"rnnbench: warning: {df.attrs['unparsed']}", err=True)
        built = rep.build_report(df, study=study)
        built.task_order = tuple(order)
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


def gradient_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """`rnnbench gradients`' own options (what to measure and where the norms go), then the
    settings table's options for a cell's settings (the same flags, checks and help as a
    sweep's), in the table's order."""
    from rnnbench.settings import CELL_KEYS, MAX_SEED

    options: list[Callable[[Any], Any]] = [
        click.option("--task", required=True, help="Task to measure on, e.g. adding."),
        click.option("--model", "models", multiple=True, required=True,
                     help="Model to measure (repeatable: several share one CSV and plot)."),
        click.option("--length", type=click.IntRange(min=1), required=True,
                     help="Dependency length (sequence length for adding, lag for "
                     "delayed-recall)."),
        click.option("--seed", type=click.IntRange(0, MAX_SEED), default=0, show_default=True,
                     help="Seed of models and data (0 to 2**32 - 1, as a sweep's seeds)."),
        click.option("--batch", type=click.IntRange(min=1), default=256, show_default=True,
                     help="Sequences the gradient norms are averaged over."),
        click.option("--same-weights", is_flag=True, help="Start every model from the first "
                     "model's initial weights (twins: numpy-rnn/keras-simplernn, "
                     "numpy-lstm/keras-lstm, numpy-gru/keras-gru)."),
        click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
                     callback=_not_empty, help="Write the norms to this CSV (step, steps_back, "
                     "norm, model, phase, ...)."),
        click.option("--plot", type=click.Path(dir_okay=False, path_type=Path),
                     callback=_not_empty, help="Draw log-scale norm against steps back from the "
                     "end to this PNG."),
        click.option("--verbose", "-v", is_flag=True, help="Show TensorFlow's native start-up "
                     "lines; by default they go to a log file (beside --out, else in the "
                     "temporary folder)."),
        *setting_options(CELL_KEYS),
    ]
    for option in reversed(options):
        f = option(f)
    return f


@main.command()
@gradient_options
def gradients(task: str, models: tuple[str, ...], length: int, seed: int, batch: int,
              same_weights: bool, out: Path | None, plot: Path | None, verbose: bool,
              **settings: Any) -> None:
    """Measure how much of the error signal at the last step reaches each earlier step.

    For each model, at initialisation and after training on the task (the sweep's training loop
    and budget), prints and saves the norm of dLoss/dh_t for every step t, averaged over a batch.
    A tanh RNN's norms shrink step by step going back in time: the vanishing gradient. The
    training settings are a sweep cell's, with the same options and defaults.
    """
    from rnnbench import memory
    from rnnbench.gradients import diagnose_cells, gradient_cells, summary_lines, write_csv
    from rnnbench.quiet import native_log_path, quiet_native

    with user_errors():
        cells = gradient_cells(task, models, length, seed, **settings)
        quiet_native(out.with_suffix(".log") if out is not None else native_log_path(), verbose)
        if plot is not None:
            _require_matplotlib()
        for option, path in (("--out", out), ("--plot", plot)):
            if path is not None:
                _check_writable_file(option, path)
        memory.check_cells(cells, memory.Limit.parse(None), at_once=1, batch=batch)
        click.echo(f"rnnbench: gradients of {', '.join(models)} on {task} length {length}, "
                   "at init and after training", err=True)
        rows = diagnose_cells(cells, batch=batch, same_weights=same_weights)
        for line in summary_lines(rows):
            click.echo(line)
        if out is not None:
            write_csv(rows, out)
            click.echo(f"{_plural(len(rows), 'row')} in {out}")
        if plot is not None:
            from rnnbench.gradients import plot_gradients

            plot_gradients(rows, plot, title=f"{task}, length {length}, seed {seed}")
            click.echo(f"plot in {plot}")


def _check_writable_file(option: str, path: Path) -> None:
    """Refuse, before any training, an output file whose folder is missing or not writable."""
    from rnnbench.errors import UserError

    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise UserError(f"{option} {str(path)!r} is a folder; give a file name")
    if not folder.is_dir():
        raise UserError(f"{option} {str(path)!r}: the folder {str(folder)!r} does not exist; "
                        "create it first")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UserError(f"{option} {str(path)!r}: cannot write there (permission denied)")


def _require_matplotlib(option: str = "--plot") -> None:
    """Figures need matplotlib (an install requirement; a broken or removed install is still
    possible): say so in one line (exit 2) before any training or any file is written."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        click.echo(f"Error: {option} needs matplotlib, which is not importable here: "
                   "pip install matplotlib (nothing was written)", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
