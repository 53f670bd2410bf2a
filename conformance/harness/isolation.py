"""Run an adapter in a process of its own: `--isolate` and `--timeout`.

`IsolatedAdapter(spec, timeout)` looks like an adapter to the runner, but every method call
is sent to a worker process that loaded the real adapter. So:
- a crash of the implementation (even a segfault in native code) kills only the worker: the
  call raises AdapterCrashed, the runner records an error for that case, and the next call
  starts a fresh worker;
- a hang becomes CaseTimeout: the worker is killed when the case's time is up. The adapter's
  calls for one case (those given the case's problem, or objects made from it: preparing,
  computing, converting outputs, gradients, for every check of the case) may take `timeout`
  seconds together; the harness's own work in between does not count. Calls outside any
  case (such as skip_reason) get `timeout` seconds each.

- an implementation that allocates too much fails in its worker, not on the machine: each
  worker gets a memory limit (resource.setrlimit, RLIMIT_DATA on Linux: it counts the memory
  a process writes to, not the address space GPU runtimes reserve; RLIMIT_AS elsewhere),
  by default the case memory limit (spec/budget.py, --max-case-memory) plus WORKER_BASE_MEMORY
  for the interpreter and the adapter's libraries. A failed allocation is a MemoryError that
  says "the worker exceeded its memory limit of N"; the next case runs as usual.

A hung call cannot be stopped inside the process running it, which is why a timeout always
means a worker process. Callables and results stay in the worker and are referred to by
handles, so the runner works unchanged: `prepare` returns a callable handle, calling it
returns a result handle (with the native dtypes of the outputs, for the record), and
`to_numpy(handle)` brings the arrays back.
"""
from __future__ import annotations

import functools
import gc
import pickle
import select
import signal
import socket
import struct
import subprocess
import sys
import time
import traceback
import weakref
from typing import Optional

from ..adapter import AbnormalExit, result_dtypes
from ..spec.budget import format_size, max_case_memory
from ..spec.model import Problem
from .registry import AdapterLoadError, load_adapter

# Loading an adapter may import torch and initialise a GPU: generous, and separate from --timeout.
START_TIMEOUT = 300.0
# A worker's memory beyond the case's own: the interpreter, NumPy, torch and the like, thread stacks.
WORKER_BASE_MEMORY = 2 * 2**30
_noted: set = set()  # notes already printed (once per process)


def default_worker_memory() -> int:
    """The memory limit of a worker: the case limit in force plus WORKER_BASE_MEMORY."""
    return max_case_memory() + WORKER_BASE_MEMORY


class AdapterCrashed(RuntimeError, AbnormalExit):
    """The worker process running the adapter died during a call."""


class CaseTimeout(TimeoutError, AbnormalExit):
    """The case did not finish within --timeout; the worker was stopped."""


class RemoteError(RuntimeError):
    """The adapter raised an exception that could not be sent back as itself."""


# ---------------------------------------------------------------- transport
# Length-prefixed pickles over a socket pair. The worker is a plain `python -c` subprocess,
# not a multiprocessing child: multiprocessing's spawn re-imports the parent's __main__,
# which breaks for scripts read from stdin and re-runs unguarded user scripts.

_HEADER = struct.Struct("!Q")


def _send(sock: socket.socket, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(_HEADER.pack(len(data)) + data)


def _read_exactly(sock: socket.socket, size: int, deadline: Optional[float]) -> bytes:
    chunks, left = [], size
    while left:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([sock], [], [], remaining)[0]:
                raise TimeoutError
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _receive_message(sock: socket.socket, deadline: Optional[float] = None):
    """The next message; TimeoutError past the deadline, EOFError when the other end has gone."""
    (size,) = _HEADER.unpack(_read_exactly(sock, _HEADER.size, deadline))
    return pickle.loads(_read_exactly(sock, size, deadline))


# ---------------------------------------------------------------- worker side

class _Ref:
    """Stands for an object kept in the worker, inside the arguments of a call."""

    __slots__ = ("id",)

    def __init__(self, ident: int):
        self.id = ident


def _resolve(value, store):
    if isinstance(value, _Ref):
        return store[value.id]
    if type(value) in (list, tuple):
        return type(value)(_resolve(v, store) for v in value)
    if isinstance(value, dict):
        return {k: _resolve(v, store) for k, v in value.items()}
    return value


def _portable(value):
    """Torch tensors as detached CPU tensors (same dtype), so they can be pickled back."""
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        return value.detach().cpu()
    if type(value) in (list, tuple):
        return type(value)(_portable(v) for v in value)
    if isinstance(value, dict):
        return {k: _portable(v) for k, v in value.items()}
    return value


def _raised(err: BaseException) -> tuple:
    try:
        payload = pickle.dumps(err)
        pickle.loads(payload)  # some exceptions pickle but cannot be rebuilt
    except Exception:
        payload = None
    return ("raised", payload, type(err).__name__, str(err), traceback.format_exc(limit=8))


def _limit_memory(nbytes: Optional[int]) -> Optional[str]:
    """Lower this process's memory limit to nbytes; a note when the platform cannot."""
    if nbytes is None:
        return None
    try:
        import resource
    except ImportError:
        return "no memory limit for isolated workers on this platform (no resource module)"
    kind = getattr(resource, "RLIMIT_DATA" if sys.platform.startswith("linux") else "RLIMIT_AS", None)
    if kind is None:
        return "no memory limit for isolated workers on this platform (no RLIMIT_DATA / RLIMIT_AS)"
    try:
        _soft, hard = resource.getrlimit(kind)
        soft = nbytes if hard == resource.RLIM_INFINITY else min(nbytes, hard)
        resource.setrlimit(kind, (soft, hard))
    except (ValueError, OSError) as err:
        return f"could not set the isolated workers' memory limit: {err}"
    return None


def _out_of_memory(err: BaseException) -> bool:
    """A failed host allocation: MemoryError, or torch's CPU allocator's RuntimeError."""
    return isinstance(err, MemoryError) or "can't allocate memory" in str(err)


def _over_limit(err: BaseException, limit: int) -> MemoryError:
    return MemoryError(f"the worker exceeded its memory limit of {format_size(limit)} "
                       f"({type(err).__name__}: {err}); raise it with --max-case-memory")


def _die_with_parent() -> None:
    """Linux: be killed when the parent dies, so a hung worker never outlives the run."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _worker_entry(fd: int) -> None:
    """Entry point of a worker process: receive the setup, load the adapter, serve calls."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent, which stops us
    if sys.platform.startswith("linux"):
        _die_with_parent()
    sock = socket.socket(fileno=fd)
    try:
        setup = _receive_message(sock)
    except EOFError:
        return
    sys.path[:] = setup["sys_path"]  # find what the parent finds (module:Class specs)
    memory_note = _limit_memory(setup.get("memory_limit"))  # before the adapter's libraries load
    try:
        adapter = load_adapter(setup["spec"])
        public = {m: getattr(adapter, m, None) for m in dir(adapter) if not m.startswith("_")}
        info = {"name": str(adapter.name), "description": str(getattr(adapter, "description", "") or ""),
                "methods": sorted(m for m, v in public.items() if callable(v)),
                # plain settings such as `device = "cuda"`, which the harness may read
                "attributes": {m: v for m, v in public.items() if isinstance(v, (str, int, float, bool, type(None)))},
                "memory_note": memory_note}
    except BaseException as err:  # report any failure to load; the parent decides
        _send(sock, ("load-error", str(err) if isinstance(err, AdapterLoadError) else f"{type(err).__name__}: {err}"))
        return
    _send(sock, ("ready", info))
    _serve(sock, adapter, None if memory_note else setup.get("memory_limit"))
    gc.freeze()  # the process ends: its last collections at exit then skip what the adapter left alive


def _serve(sock: socket.socket, adapter, memory_limit: Optional[int] = None) -> None:
    store, next_id = {0: adapter}, 1
    while True:
        try:
            target, method, args, kwargs, releases = _receive_message(sock)
        except (EOFError, OSError):  # the parent has gone
            return
        for ident in releases:
            store.pop(ident, None)
        try:
            obj = store[target]
            args, kwargs = _resolve(args, store), _resolve(kwargs, store)
            value = obj(*args, **kwargs) if method is None else getattr(obj, method)(*args, **kwargs)
            if method is None:  # the prepared computation: its result stays here
                store[next_id] = value
                reply = ("result", next_id, result_dtypes(value))
                next_id += 1
            elif callable(value) and not isinstance(value, type):
                store[next_id] = value
                reply = ("callable", next_id)
                next_id += 1
            else:
                try:
                    value = _portable(value)
                    pickle.dumps(value)
                    reply = ("value", value)
                except Exception:
                    store[next_id] = value
                    reply = ("object", next_id, type(value).__name__)
                    next_id += 1
        except BaseException as err:  # the adapter raised: send it back, keep serving
            if memory_limit is not None and _out_of_memory(err):
                err = _over_limit(err, memory_limit)
            reply = _raised(err)
        _send(sock, reply)


# ---------------------------------------------------------------- parent side

class _Handle:
    def __init__(self, owner: "IsolatedAdapter", ident: int, generation: int):
        self._owner, self._id, self._generation = owner, ident, generation
        weakref.finalize(self, owner._release, generation, ident)


class _RemoteCallable(_Handle):
    def __call__(self, *args, **kwargs):
        return self._owner._call(self, None, args, kwargs, "the prepared computation")


class _RemoteObject(_Handle):
    def __init__(self, owner, ident, generation, type_name):
        super().__init__(owner, ident, generation)
        self.type_name = type_name

    def __repr__(self):
        return f"<{self.type_name} held by the {self._owner.name} worker>"


class _NativeDtype:
    """What `result_dtypes` reads from an output: its dtype's name, as the worker saw it."""

    def __init__(self, name: str):
        self.dtype = name


class RemoteResult(dict):
    """The outputs of a computation, kept in the worker. As a dict it maps output names to
    objects whose `dtype` is the native dtype, so the runner records the real dtypes."""

    def __init__(self, owner, ident, generation, dtypes: dict):
        super().__init__({k: _NativeDtype(v) for k, v in dtypes.items()})
        self._handle = _Handle(owner, ident, generation)


def _swap_handles(value):
    if isinstance(value, RemoteResult):
        return _Ref(value._handle._id), value._handle._generation
    if isinstance(value, _Handle):
        return _Ref(value._id), value._generation
    if type(value) in (list, tuple):
        pairs = [_swap_handles(v) for v in value]
        return type(value)(p[0] for p in pairs), _generation_of(p[1] for p in pairs)
    if isinstance(value, dict):
        pairs = {k: _swap_handles(v) for k, v in value.items()}
        return {k: p[0] for k, p in pairs.items()}, _generation_of(p[1] for p in pairs.values())
    return value, None


def _generation_of(generations) -> Optional[int]:
    found = [g for g in generations if g is not None]
    return found[0] if found else None


def _problem_key(args, kwargs) -> Optional[tuple]:
    for value in list(args) + list(kwargs.values()):
        if isinstance(value, Problem):
            return (value.case_id, value.dtype)
    return None


def exit_description(code: Optional[int]) -> str:
    if code is None:
        return "it stopped answering"
    if code < 0:
        try:
            sig = signal.Signals(-code)
            return f"killed by {sig.name}: {signal.strsignal(sig)}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


class IsolatedAdapter:
    """An adapter proxy whose real adapter runs in a worker process (see the module docstring)."""

    def __init__(self, spec: str, timeout: Optional[float] = None, memory_limit: Optional[int] = None):
        """memory_limit: bytes per worker (default: default_worker_memory(), read now)."""
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.spec, self.timeout = spec, timeout
        self.memory_limit = default_worker_memory() if memory_limit is None else memory_limit
        self._process = self._conn = None
        self._generation = 0
        self._released: list = []
        self._case_key: Optional[tuple] = None
        self._case_spent = 0.0  # seconds the adapter has used on the current case
        self.incidents: list[str] = []  # crashes and timeouts, in order
        info = self._start()
        for attribute, value in info["attributes"].items():
            if attribute not in ("spec", "timeout", "incidents", "crashed", "memory_limit"):
                setattr(self, attribute, value)
        self.name, self.description, self._methods = info["name"], info["description"], set(info["methods"])

    # -- the worker's life

    def _start(self) -> dict:
        parent_end, child_end = socket.socketpair()
        command = [sys.executable, "-c", "import sys; from lstm_conformance.harness.isolation import _worker_entry; "
                   "_worker_entry(int(sys.argv[1]))", str(child_end.fileno())]
        try:
            process = subprocess.Popen(command, pass_fds=[child_end.fileno()], stdin=subprocess.DEVNULL)
        finally:
            child_end.close()
        self._process, self._conn = process, parent_end
        self._generation += 1
        self._released = []
        _send(parent_end, {"spec": self.spec, "sys_path": list(sys.path), "memory_limit": self.memory_limit})
        try:
            reply = self._receive(time.monotonic() + START_TIMEOUT, "loading the adapter", START_TIMEOUT)
        except (AdapterCrashed, CaseTimeout) as err:
            raise AdapterLoadError(f"--impl {self.spec}: loading it in a separate process failed: {err}") from None
        if reply[0] == "load-error":
            self._stop()
            raise AdapterLoadError(reply[1])
        note = reply[1].get("memory_note")
        if note and note not in _noted:
            _noted.add(note)
            print(f"lstm-conformance: note: {note}", file=sys.stderr)
        return reply[1]

    def _stop(self) -> None:
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            conn.close()
        if process is not None:
            if process.poll() is None:
                process.kill()
            process.wait(10)

    def close(self) -> None:
        """Stop the worker (idempotent)."""
        self._stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _release(self, generation: int, ident: int) -> None:
        if generation == self._generation:
            self._released.append(ident)

    @property
    def crashed(self) -> bool:
        return bool(self.incidents)

    # -- calls

    def _where(self, what: str) -> str:
        case = f" of case {self._case_key[0]} [{self._case_key[1]}]" if self._case_key else ""
        return f"during {what}{case}"

    def _label(self) -> str:
        return self.__dict__.get("name", self.spec)

    def _receive(self, deadline: Optional[float], what: str, budget: Optional[float] = None):
        process = self._process
        try:
            return _receive_message(self._conn, deadline)
        except TimeoutError:
            self._stop()
            limit = f"{budget:g} s" if budget is not None else f"--timeout {self.timeout:g} s for one case"
            message = (f"{self._label()} gave no answer within {limit} {self._where(what)}; "
                       "its process was stopped and a fresh one serves the next case")
            self.incidents.append(message)
            raise CaseTimeout(message) from None
        except (EOFError, OSError):
            try:
                code = process.wait(5)
            except subprocess.TimeoutExpired:
                code = None
            self._stop()
            message = (f"the process running {self._label()} died ({exit_description(code)}) {self._where(what)} "
                       f"(its memory limit: {format_size(self.memory_limit)}); "
                       "a fresh process serves the next case")
            self.incidents.append(message)
            raise AdapterCrashed(message) from None
        except (pickle.UnpicklingError, ImportError, AttributeError) as err:
            # The answer was read whole (the stream is in step) but names a class only the
            # worker has, e.g. one defined in an adapter file loaded by path.
            raise RemoteError(f"{self._label()} answered {self._where(what)} with an object this process "
                              f"cannot rebuild ({type(err).__name__}: {err}); return NumPy arrays, "
                              "plain values or the suite's own types") from None

    def _call(self, target, method: Optional[str], args: tuple, kwargs: dict, what: str):
        stopped = self._process is None  # after a crash or timeout: the objects of the stopped worker are gone
        key = _problem_key(args, kwargs)
        if key is not None and key != self._case_key:
            self._case_key, self._case_spent = key, 0.0
        (args, kwargs), generation = _swap_handles((tuple(args), dict(kwargs)))
        if isinstance(target, _Handle):
            generation, target_id = target._generation, target._id
        else:
            target_id = 0
        if generation is not None and (stopped or generation != self._generation):
            raise RuntimeError(f"{what}: this object belonged to a worker of {self.spec} that was stopped "
                               "after a crash or timeout; prepare the problem again")
        # Calls with the case's problem or its results share the case's budget; others get their own.
        in_case = key is not None or generation is not None
        budget = None if self.timeout is None else self.timeout - (self._case_spent if in_case else 0.0)
        if budget is not None and budget <= 0:
            raise CaseTimeout(f"{self._label()} used up --timeout {self.timeout:g} s {self._where('earlier calls')}; "
                              f"{what} was not started")
        if stopped:  # the first call that will run after a crash or timeout: a fresh worker, started
            self._start()  # before the case's clock runs (not for the calls refused above)
        releases, self._released = self._released, []
        started = time.monotonic()
        try:
            try:
                _send(self._conn, (target_id, method, args, kwargs, releases))
            except (BrokenPipeError, ConnectionResetError):
                pass  # the worker died after its last answer: _receive reports how
            reply = self._receive(None if budget is None else started + budget, what)
        except BaseException:
            if self._process is not None:  # e.g. Ctrl-C while waiting: the reply would come to
                self._stop()               # the next call; a fresh worker is safer
            raise
        finally:
            if in_case:
                self._case_spent += time.monotonic() - started
        return self._unpack(reply)

    def _unpack(self, reply: tuple):
        kind = reply[0]
        if kind == "value":
            return reply[1]
        if kind == "callable":
            return _RemoteCallable(self, reply[1], self._generation)
        if kind == "result":
            return RemoteResult(self, reply[1], self._generation, reply[2])
        if kind == "object":
            return _RemoteObject(self, reply[1], self._generation, reply[2])
        _, payload, type_name, message, remote_traceback = reply
        err = None
        if payload is not None:
            try:
                err = pickle.loads(payload)
            except Exception:
                err = None
        if not isinstance(err, BaseException):
            err = RemoteError(f"{type_name}: {message}")
        if hasattr(err, "add_note"):
            err.add_note(f"raised in the worker process of {self.spec}:\n{remote_traceback}")
        raise err

    def _method(self, name: str, *args, **kwargs):
        return self._call(None, name, args, kwargs, name)

    def __getattr__(self, name: str):
        methods = self.__dict__.get("_methods", ())
        if name.startswith("_") or name not in methods:
            raise AttributeError(f"{type(self).__name__} for {self.__dict__.get('spec')!r} has no attribute {name!r}")
        return functools.partial(self._method, name)

    def __repr__(self):
        return f"IsolatedAdapter({self.spec!r}, timeout={self.timeout})"


def isolate_all(specs, timeout: Optional[float] = None, memory_limit: Optional[int] = None) -> list[IsolatedAdapter]:
    """One isolated adapter per spec; if one fails to load, those already started are stopped."""
    adapters: list[IsolatedAdapter] = []
    try:
        for spec in specs:
            adapters.append(IsolatedAdapter(spec, timeout, memory_limit))
    except BaseException:
        close_all(adapters)
        raise
    return adapters


def close_all(adapters) -> None:
    for adapter in adapters:
        if isinstance(adapter, IsolatedAdapter):
            adapter.close()
