"""Registries of tasks and models, and plugin loading from the `rnnbench.plugins` entry points.

A plugin is an installed package whose entry point in the group `rnnbench.plugins` names a module;
importing that module registers things with the same decorators the built-ins use. The built-ins
load through the same function, so a third-party task is a first-class citizen.

Loading happens once, lazily, on the first `get` / `names` / `items` call. Set the environment
variable RNNBENCH_NO_PLUGINS=1 to load only the built-ins (tests use it to see only what they
register themselves), or RNNBENCH_SKIP_PLUGINS=NAME,NAME (`rnnbench --skip-plugin NAME`) to leave
out some; worker processes inherit both. A plugin whose import is still running after
SLOW_PLUGIN_SECONDS is named on stderr while it loads, with these two ways around it.

Names are printable single-line text (they go into CSV rows, tables and file names).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from rnnbench.errors import UserError, env_seconds
from rnnbench.quiet import native_stderr_to_log

# A model factory, kept at its own type by `register_model` (rnnbench.models.base's typed
# register_model bounds it by the Model protocol, which the registry, below the models, cannot
# name).
FactoryT = TypeVar("FactoryT", bound=Callable[..., Any])

ENTRY_POINT_GROUP = "rnnbench.plugins"
NO_PLUGINS_ENV = "RNNBENCH_NO_PLUGINS"
SKIP_PLUGINS_ENV = "RNNBENCH_SKIP_PLUGINS"
SLOW_PLUGIN_ENV = "RNNBENCH_SLOW_PLUGIN_SECONDS"
SLOW_PLUGIN_SECONDS = 3.0  # unless SLOW_PLUGIN_ENV says otherwise (read when plugins load)
# Set once a slow plugin was named, so the worker processes (which inherit it) do not repeat it.
SLOW_NOTICE_SHOWN_ENV = "RNNBENCH_SLOW_PLUGIN_NAMED"
NOTICE_COLUMNS = 100
MAX_NAME_LENGTH = 100
BUILTIN_SOURCE = "built-in"

# The built-ins are described as entry points too, and go through `_load_entry_point` like any
# plugin; they are listed here rather than in setup.cfg so a source checkout works uninstalled.
BUILTIN_ENTRY_POINTS = (
    importlib.metadata.EntryPoint("tasks", "rnnbench.tasks.builtin", ENTRY_POINT_GROUP),
    importlib.metadata.EntryPoint("models", "rnnbench.models.builtin", ENTRY_POINT_GROUP),
)


class RegistryError(UserError):
    """A name that is unknown or registered twice; the message lists what is allowed."""


@dataclass(frozen=True)
class Entry:
    name: str
    obj: Any
    source: str  # "built-in", a distribution name, or the module that registered it

    @property
    def description(self) -> str:
        text = getattr(self.obj, "description", None) or (self.obj.__doc__ or "")
        return text.strip().splitlines()[0] if text.strip() else ""


# The source that registrations are attributed to while a plugin module is being imported.
_current_source: list[str] = []


@contextlib.contextmanager
def _attributed_to(source: str) -> Iterator[None]:
    _current_source.append(source)
    try:
        yield
    finally:
        _current_source.pop()


class Registry:
    """Names -> objects of one kind, with where each name came from."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry] = {}

    def register(self, name: str, obj: Any = None) -> Any:
        """Register `obj` under `name`; without `obj`, return a decorator that does it."""
        if obj is None:
            return lambda o: self.register(name, o)
        check_name(self.kind, name)
        source = _current_source[-1] if _current_source else _source_of_module(obj)
        if name in self._entries:
            first = self._entries[name].source
            raise RegistryError(
                f"{self.kind} {name!r} is registered twice: by {first} and by {source}"
            )
        self._entries[name] = Entry(name, obj, source)
        return obj

    def unregister(self, name: str) -> None:
        """Remove a name (tests use it to clean up after themselves)."""
        self._entries.pop(name, None)

    def get(self, name: str) -> Any:
        return self.entry(name).obj

    def entry(self, name: str) -> Entry:
        load_plugins()
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "(none)"
            raise RegistryError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def names(self) -> list[str]:
        load_plugins()
        return sorted(self._entries)

    def items(self) -> list[Entry]:
        load_plugins()
        return [self._entries[n] for n in sorted(self._entries)]

    def __contains__(self, name: object) -> bool:
        load_plugins()
        return name in self._entries


def check_name(kind: str, name: Any) -> None:
    """Refuse a name that is not printable single-line text without outer spaces."""
    if not isinstance(name, str) or not name or name != name.strip():
        raise RegistryError(f"{kind} name must be a non-empty string without outer spaces, "
                            f"got {name!r}")
    if not name.isprintable() or len(name) > MAX_NAME_LENGTH:
        raise RegistryError(
            f"{kind} name {name[:MAX_NAME_LENGTH]!r} is not allowed: names are printable "
            f"single-line text (no newlines, tabs or control characters), at most "
            f"{MAX_NAME_LENGTH} characters"
        )


def _source_of_module(obj: Any) -> str:
    """Who registered `obj` outside plugin loading: the built-ins, or the module that did it."""
    module = getattr(obj, "__module__", None) or "?"
    return BUILTIN_SOURCE if module.split(".")[0] == "rnnbench" else module


tasks = Registry("task")
models = Registry("model")

_loaded = False


def _source_of(ep: importlib.metadata.EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return dist.name if dist is not None else ep.name


def _load_entry_point(ep: importlib.metadata.EntryPoint, source: str) -> None:
    with _attributed_to(source):
        ep.load()


def slow_notice(name: str, seconds: float) -> str:
    """The notice naming a plugin still importing: one line within NOTICE_COLUMNS columns for a
    name of up to 10 characters, wrapped (never cut: --skip-plugin needs the whole name) after."""
    import textwrap

    text = (f"rnnbench: still importing plugin {name!r} after {seconds:g}s; "
            f"to leave it out: --skip-plugin {name}")
    return textwrap.fill(text, NOTICE_COLUMNS, subsequent_indent="  ", break_long_words=False,
                         break_on_hyphens=False)


def _load_watched(ep: importlib.metadata.EntryPoint, source: str, patience: float) -> None:
    """Load a plugin, saying on stderr (while it still loads) when it takes long.

    An import cannot be stopped from outside, so a plugin that hangs is named once, with the way
    to leave it out, after `patience` seconds (not again in this process or its workers);
    Ctrl-C still works.
    """
    done = threading.Event()
    try:  # the terminal, kept while fd 2 goes to the native log during the import
        terminal = os.dup(2)
    except OSError:
        terminal = -1

    def watch() -> None:
        if done.wait(patience) or os.environ.get(SLOW_NOTICE_SHOWN_ENV) or terminal < 0:
            return
        os.environ[SLOW_NOTICE_SHOWN_ENV] = ep.name
        with contextlib.suppress(OSError):
            os.write(terminal, (slow_notice(ep.name, patience) + "\n").encode())

    watcher = threading.Thread(target=watch, name="rnnbench-plugin-watch", daemon=True)
    watcher.start()
    try:
        # A plugin importing Keras at its top (the README's pattern) starts TensorFlow, whose
        # native start-up lines go to the log as the built-in models' do (rnnbench.quiet).
        with native_stderr_to_log():
            _load_entry_point(ep, source)
    finally:
        done.set()
        if terminal >= 0:
            watcher.join(1.0)
            with contextlib.suppress(OSError):
                os.close(terminal)


def _registered_by(source: str) -> list[tuple[Registry, str]]:
    return [(reg, e.name) for reg in (tasks, models) for e in list(reg._entries.values())
            if e.source == source]


def skipped_plugins() -> set[str]:
    """The plugin names (or distributions, or modules) RNNBENCH_SKIP_PLUGINS leaves out."""
    return {s.strip() for s in os.environ.get(SKIP_PLUGINS_ENV, "").split(",") if s.strip()}


def _installed_entry_points() -> list[importlib.metadata.EntryPoint]:
    return list(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))


def load_plugins(force: bool = False) -> list[str]:
    """Import the built-ins and every installed plugin once; return the names that failed.

    A plugin that raises on import, or registers a name that is not allowed or already taken,
    is left out with one warning naming it and `--skip-plugin`; the others still load.
    """
    global _loaded
    if _loaded and not force:
        return []
    _loaded = True
    failed: list[str] = []
    for ep in BUILTIN_ENTRY_POINTS:
        _load_entry_point(ep, BUILTIN_SOURCE)
    if os.environ.get(NO_PLUGINS_ENV, "") not in ("", "0"):
        return failed
    skip = skipped_plugins()
    patience = env_seconds(SLOW_PLUGIN_ENV, SLOW_PLUGIN_SECONDS)
    for ep in _installed_entry_points():
        source = _source_of(ep)
        if skip & {ep.name, source, ep.value, ep.value.split(":")[0]}:
            continue
        before = set(_registered_by(source))
        try:
            _load_watched(ep, source, patience)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - even sys.exit() in a plugin's import
            # A plugin that fails, a bad name it registers included, is left out whole (what it
            # registered before failing goes too) and named once; the others and the command go on.
            for reg, name in set(_registered_by(source)) - before:
                reg.unregister(name)
            failed.append(ep.name)
            first_line = (str(exc).strip().splitlines() or [""])[0][:300]
            warnings.warn(
                f"rnnbench plugin {ep.name!r} ({ep.value}, from {source}) failed to load and "
                f"is left out: {type(exc).__name__}: {first_line}; to skip it without this "
                f"warning: --skip-plugin {ep.name}",
                RuntimeWarning,
                stacklevel=2,
            )
    return failed


def register_model(name: str) -> Callable[[FactoryT], FactoryT]:
    """Decorator: register a model factory under `name`; see rnnbench.models.base.register_model,
    the public and typed face of this one."""
    return lambda factory: models.register(name, factory)


# -- what a worker does around each cell, offered by models -------------------------------------

# A cell scope: a function returning a context manager that a worker process enters around each
# cell it runs (rnnbench.executors.hygiene). A model module registers the one it needs (the Keras
# models: reuse traced models, clear the session after a cell that compiled outside the cache),
# so that no executor imports a model module.
CellScope = Callable[[], contextlib.AbstractContextManager[Any]]
_cell_scopes: list[CellScope] = []


def register_cell_scope(scope: CellScope) -> CellScope:
    """Register `scope` (once; registering it again does nothing) and return it."""
    if scope not in _cell_scopes:
        _cell_scopes.append(scope)
    return scope


def cell_scopes() -> list[CellScope]:
    """The registered cell scopes, in the order they were registered."""
    return list(_cell_scopes)
