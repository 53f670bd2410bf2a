"""`run -j N`: the cases of a run spread over N worker processes on this machine.

Each worker loads the adapters itself (by their specs, as --isolate does), takes the next case
from a shared queue and sends back the records of each of its units as they complete; the
parent judges them, writes the journal and shows progress, exactly as in a serial run. The
records come back grouped per case and are put in the serial order, so the results equal a
serial run's apart from timings. A worker that dies (a crash in an implementation) costs
the units of the case it was running, reported as errors, and a new worker takes its place.
"""
from __future__ import annotations

import multiprocessing
import os
import queue
import sys
import traceback
from dataclasses import dataclass, field
from typing import Callable, Optional

from ..checks import ReferenceCache
from ..report.results import Status
from ..spec import budget
from .isolation import exit_description, isolate_all
from .registry import load_adapter
from .runner import iter_units, run_unit

POLL_SECONDS = 0.2


@dataclass
class WorkerSetup:
    specs: list  # the adapters, as --impl gives them
    dtypes: Optional[list]
    checks: Optional[list]
    isolate: bool
    timeout: Optional[float]
    plan: Optional[object] = None  # profiles.Plan: only the checks it runs
    diagnose: bool = True
    sys_path: list = field(default_factory=lambda: list(sys.path))
    max_case_memory: int = field(default_factory=budget.max_case_memory)


def _worker(setup: WorkerSetup, tasks, replies) -> None:
    """A worker's life: load the adapters, then run the cases it is given until None arrives."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    sys.path[:] = setup.sys_path  # find the same adapter files and modules as the parent
    budget.set_max_case_memory(setup.max_case_memory)
    try:
        if setup.isolate:
            adapters = isolate_all(setup.specs, setup.timeout)
        else:
            adapters = [load_adapter(spec) for spec in setup.specs]
    except BaseException:  # the parent loaded them already, so this is unexpected: say why
        replies.put(("load-error", traceback.format_exc(limit=4)))
        return
    cache = ReferenceCache()
    while True:
        task = tasks.get()
        if task is None:
            return
        index, case = task
        for unit in iter_units([case], adapters, setup.dtypes, setup.checks, setup.plan):
            replies.put(("unit", index, unit.id, run_unit(unit, cache, setup.diagnose)))
        replies.put(("done", index, os.getpid()))


def _lost_records(case, adapters, setup: WorkerSetup, received: set, why: str) -> list[dict]:
    """Error records for the units of a case whose worker died before sending them (`adapters`:
    the parent's, for the units' names and the dtypes check's extra runs)."""
    lost = []
    for unit in iter_units([case], adapters, setup.dtypes, setup.checks, setup.plan):
        if unit.id in received:
            continue
        for check in unit.checks:
            lost.append({"case": case.id, "group": case.group, "about": case.about, "dtype": unit.dtype,
                         "impl": unit.adapter.name, "check": check.name, "status": Status.ERROR, "message": why})
    return lost


def run_cases(cases: list, setup: WorkerSetup, adapters: list, jobs: int,
              on_unit: Callable[[int, list], None], on_start: Optional[Callable[[int], None]] = None) -> None:
    """Run every case on `jobs` workers; on_unit(case index, records) is called for each unit's
    records, in the order they complete. The parent hands each worker one case at a time, so it
    always knows which case a worker that died was running. KeyboardInterrupt passes through,
    after the workers are stopped, so the caller keeps what was computed."""
    context = multiprocessing.get_context("spawn")  # a clean interpreter: no forked thread pools
    replies = context.Queue()
    pending = list(range(len(cases)))
    assigned: dict = {}  # worker -> (its task queue, the case index it is running or None)
    received: dict = {}  # case index -> unit ids received
    done: set = set()

    def give_work(worker, tasks):
        index = pending.pop(0) if pending else None
        assigned[worker] = (tasks, index)
        tasks.put(None if index is None else (index, cases[index]))
        if index is not None and on_start:
            on_start(index)

    def start_worker():
        tasks = context.Queue()
        worker = context.Process(target=_worker, args=(setup, tasks, replies), daemon=True)
        worker.start()
        give_work(worker, tasks)

    for _ in range(min(jobs, len(cases))):
        start_worker()
    try:
        while len(done) < len(cases):
            try:
                reply = replies.get(timeout=POLL_SECONDS)
            except queue.Empty:
                for worker, (_, index) in list(assigned.items()):
                    if worker.is_alive() or index is None:
                        continue
                    del assigned[worker]  # died while running a case: its missing units are errors
                    why = (f"the worker process running this case died ({exit_description(worker.exitcode)}); "
                           "run it alone with --isolate to see which unit")
                    on_unit(index, _lost_records(cases[index], adapters, setup, received.get(index, set()), why))
                    done.add(index)
                    if pending:
                        start_worker()
                continue
            if reply[0] == "load-error":
                raise RuntimeError(f"a worker could not load the adapters:\n{reply[1]}")
            if reply[0] == "unit":
                _, index, unit_id, records = reply
                received.setdefault(index, set()).add(unit_id)
                on_unit(index, records)
            elif reply[0] == "done":
                _, index, pid = reply
                done.add(index)
                worker = next(w for w in assigned if w.pid == pid)
                give_work(worker, assigned[worker][0])
    finally:
        for worker, (tasks, index) in assigned.items():
            if index is not None:
                tasks.put(None)
        for worker in assigned:
            worker.join(timeout=1.0)
            if worker.is_alive():
                worker.terminate()
