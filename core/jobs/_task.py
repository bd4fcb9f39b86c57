"""What a job runs, as data: a module-level function, its request, and where to run it.

Why: the thread backend could run any closure (``lambda j: run_trace(j, lanes, ...)``),
but a job for a worker process (issue 18, core.jobs.rq) must travel through Redis: the
function by its importable name, the request as a small picklable value. A ``Task`` is
both: called with the Job it runs like the closures were (``fn(job, lanes, request,
settings, **kwargs)``), and pickled without its process-local parts (the lanes, the
settings, ``local`` such as a page's domain cache), which the worker supplies from its
own process with ``bound``: its lanes, its settings, and for each ``local`` value one
object of the same class built with its settings (``cls(settings)``, once per worker
process: the trace's DomainCache, whose Redis part every process shares). Pages and the
CLI build one per submit; both backends take it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass
class Task:
    fn: Callable[..., Any]
    """A module-level function ``fn(job, lanes, request, settings, **kwargs)``."""
    request: Any
    lanes: Any = field(default=None, repr=False)
    settings: Any = field(default=None, repr=False)
    kwargs: dict[str, Any] = field(default_factory=dict)
    """Picklable keyword arguments, sent to a worker with the request."""
    local: dict[str, Any] = field(default_factory=dict, repr=False)
    """Keyword arguments of this process only (a cache): never sent to a worker."""

    def __call__(self, job: Any) -> Any:
        return self.fn(job, self.lanes, self.request, self.settings, **self.kwargs,
                       **self.local)

    def __getstate__(self) -> dict[str, Any]:
        return {"fn": self.fn, "request": self.request, "kwargs": self.kwargs,
                "local_types": {k: type(v) for k, v in self.local.items() if v is not None}}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.fn, self.request, self.kwargs = state["fn"], state["request"], state["kwargs"]
        self.lanes = self.settings = None
        self.local = {}
        self.local_types: dict[str, type] = state.get("local_types", {})

    def bound(self, lanes: Any, settings: Any,
              provide: Callable[[type], Any] | None = None) -> Task:
        """This task with a worker's own lanes and settings, and its ``local`` values
        rebuilt by ``provide(cls)`` (the worker's one object of that class)."""
        types = getattr(self, "local_types", {})
        local = {k: provide(cls) for k, cls in types.items()} if provide else {}
        return replace(self, lanes=lanes, settings=settings, local=local)

    @property
    def name(self) -> str:
        return f"{self.fn.__module__}.{self.fn.__qualname__}"
