"""pytest plugin (entry point `pytest11`): `pytest --lstm-impl file.py:Class` runs the spec
cases against that implementation as tests, in any directory.

It goes through the same engine as `lstm-conformance run`: one test per unit of
`runner.iter_units` (a case in one dtype on one implementation, with every applicable check;
the extra float16/bfloat16 runs of the dtypes check included), and a `session.Session`
judges the records: the shipped expectations of built-in adapters, --lstm-expectations,
--lstm-strict, --lstm-isolate and --lstm-timeout mean what --expectations, --strict,
--isolate and --timeout mean for the CLI; --lstm-profile quick and --lstm-budget SECONDS mean
what --profile quick and --budget mean (what they leave out is a skipped test saying why, and a
session the budget cut short fails unless --lstm-allow-incomplete).

The spec case files (the built-in library, or --lstm-cases) are collected as test files, so
-k, the counts and the node ids are pytest's own, and a failing test's node id can be passed
back (the failure prints the command). Without test paths on the command line, --lstm-impl
collects only the spec cases, not the project's own tests; with paths, pytest collects those
(a case file among them runs its cases). Without --lstm-impl the plugin adds nothing, so it
is harmless in other projects.
"""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

IMPL_OPTION = "--lstm-impl"
_CLI_OPTIONS = re.compile(r"(?<![\w-])--(impl|cases|dtype|check|expectations|no-builtin-expectations|strict|isolate"
                          r"|timeout|profile|budget|allow-incomplete)\b")


def plugin_wording(message: str) -> str:
    """A message of the shared code, with the CLI's option names (--impl, ...) as this plugin's."""
    return _CLI_OPTIONS.sub(r"--lstm-\1", message)


def _seconds(text: str) -> float:
    from .harness.session import positive_seconds
    return positive_seconds(text)


def pytest_addoption(parser):
    group = parser.getgroup("lstm-conformance")
    group.addoption(IMPL_OPTION, action="append", default=[], metavar="NAME|file.py:Class|module:Class",
                    help="run the LSTM spec cases against this implementation (repeatable)")
    group.addoption("--lstm-cases", action="append", default=[], metavar="FILE",
                    help="spec case file (repeatable; default: the built-in library)")
    group.addoption("--lstm-dtype", action="append", default=[], help="only these dtypes (repeatable)")
    group.addoption("--lstm-check", action="append", default=[], metavar="NAME",
                    help="only these checks (repeatable; default: all)")
    group.addoption("--lstm-expectations", action="append", default=[], metavar="FILE",
                    help="expectations file of one adapter: case patterns with reasons -> xfail / xpass (repeatable)")
    group.addoption("--lstm-no-builtin-expectations", action="store_true",
                    help="do not apply the shipped expectations of built-in adapters")
    group.addoption("--lstm-strict", action="store_true", help="an expected failure that passes (xpass) fails the test")
    group.addoption("--lstm-isolate", action="store_true",
                    help="run each implementation in a process of its own: a crash (even a segfault) is one error")
    group.addoption("--lstm-timeout", type=_seconds, metavar="SECONDS",
                    help="a case taking longer is stopped and reported as an error (implies --lstm-isolate)")
    group.addoption("--lstm-profile", choices=("full", "quick"), default="full",
                    help="quick: bounded cases, repeated checks on a subset reaching every feature (as "
                         "`lstm-conformance run --profile quick`); what it leaves out is skipped, saying so")
    group.addoption("--lstm-budget", type=_seconds, metavar="SECONDS",
                    help="the units run coverage-first; once SECONDS have passed the rest are skipped ('not run "
                         "(--lstm-budget)') and the session fails unless --lstm-allow-incomplete")
    group.addoption("--lstm-allow-incomplete", action="store_true",
                    help="a session --lstm-budget cut short passes when nothing that ran failed")


def pytest_configure(config):
    if config.getoption(IMPL_OPTION):
        config.addinivalue_line("markers", "lstm_conformance: a spec case run by the lstm-conformance plugin")
        config.pluginmanager.register(ConformanceRun(config), "lstm-conformance-run")


class ConformanceRun:
    """The hooks of a `--lstm-impl` run (registered only then) and the engine they share."""

    def __init__(self, config):
        self.config = config
        self.case_files = self._case_files()
        if config.args_source != pytest.Config.ArgsSource.ARGS:  # no test paths given: only the spec cases
            config.args = [str(path) for path in self.case_files]
        self.session = None  # session.Session: the adapters and what judges their records
        self.cache = None
        self.units: dict = {}  # case file -> its units
        self.file_nodeids: dict = {}  # a .yaml path pytest visits -> (is a case file, its node id)
        self.plan = None  # profiles.Plan of --lstm-profile quick
        self.budget = None  # time_budget.Budget of --lstm-budget

    def _case_files(self) -> list[Path]:
        from .spec.loader import builtin_case_files

        given = self.config.getoption("--lstm-cases")
        for path in given:
            if not Path(path).is_file():
                raise pytest.UsageError(f"--lstm-cases {path}: no such file")
        return [Path(p).resolve() for p in given] or [p.resolve() for p in builtin_case_files()]

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session):
        """Load the cases and the adapters once, before pytest collects the case files."""
        from .harness.registry import AdapterLoadError, load_adapter
        from .harness.runner import ReferenceCache, iter_units
        from .checks import select_checks
        from .harness.profiles import plan_for
        from .harness.session import RunOptions, Session, SessionError
        from .harness.time_budget import Budget
        from .spec.loader import SpecError, load_cases

        option = self.config.getoption
        try:
            cases = load_cases(self.case_files)
        except SpecError as err:
            raise pytest.UsageError(str(err)) from None
        try:
            checks = select_checks(option("--lstm-check") or None)
        except ValueError as err:
            raise pytest.UsageError(f"--lstm-check: {err}") from None
        options = RunOptions(expectations=[Path(p) for p in option("--lstm-expectations")],
                             no_builtin_expectations=option("--lstm-no-builtin-expectations"),
                             strict=option("--lstm-strict"), isolate=option("--lstm-isolate"),
                             timeout=option("--lstm-timeout"))
        try:
            self.session = Session(options, option(IMPL_OPTION), load_adapter)
        except (AdapterLoadError, SessionError) as err:
            raise pytest.UsageError(plugin_wording(str(err))) from None
        self.cache = ReferenceCache()
        self.plan = plan_for(option("--lstm-profile"), cases, [c.name for c in checks], self.session.adapters)
        self.budget = Budget(option("--lstm-budget")) if option("--lstm-budget") else None
        resolved: dict = {}  # each case file's resolved path, found once per file, not once per unit
        for unit in iter_units(cases, self.session.adapters, option("--lstm-dtype") or None, checks):
            if unit.case.file not in resolved:
                resolved[unit.case.file] = Path(unit.case.file).resolve()
            self.units.setdefault(resolved[unit.case.file], []).append(unit)

    def pytest_collect_file(self, file_path, parent):
        if file_path.suffix != ".yaml":
            return None
        # pytest visits a case file once per test path given (every case file, by default):
        # its path is resolved and placed once
        if file_path not in self.file_nodeids:
            self.file_nodeids[file_path] = self._case_file_nodeid(file_path)
        is_case_file, nodeid = self.file_nodeids[file_path]
        return LSTMCaseFile.from_parent(parent, path=file_path, nodeid=nodeid) if is_case_file else None

    def _case_file_nodeid(self, file_path: Path) -> tuple:
        if file_path.resolve() not in self.case_files:
            return False, None
        try:
            file_path.relative_to(self.config.rootpath)
            return True, None  # pytest's own node id: relative to the rootdir
        except ValueError:  # outside the rootdir (an installed library): the absolute path
            return True, file_path.as_posix()

    def pytest_collection_modifyitems(self, session, config, items):
        """--lstm-budget: this plugin's tests in coverage-first order (the others keep their places)."""
        if self.budget is None:
            return
        from .harness.planning import coverage_first

        mine = [index for index, item in enumerate(items) if isinstance(item, LSTMUnitItem)]
        by_unit = {id(items[i].unit): items[i] for i in mine}
        ordered = [by_unit[id(u)] for u in coverage_first([items[i].unit for i in mine])]
        for index, item in zip(mine, ordered):
            items[index] = item

    def pytest_terminal_summary(self, terminalreporter):
        if self.budget is not None and self.budget.left_out:
            terminalreporter.write_line(f"lstm-conformance: incomplete: the time budget of {self.budget.seconds:g} s "
                                        f"was spent; {self.budget.left_out} tests not run (skipped, 'not run "
                                        "(--lstm-budget)')")

    def pytest_sessionfinish(self, session, exitstatus):
        if (self.budget is not None and self.budget.left_out and exitstatus == 0
                and not self.config.getoption("--lstm-allow-incomplete")):
            session.exitstatus = 1

    def pytest_unconfigure(self, config):
        if self.session is not None:
            self.session.close()

    def rerun_command(self, item) -> str:
        """The command that runs this test again (the node id is the file's path or relative to the rootdir)."""
        spec = next(name for name, adapter in zip(self.session.names, self.session.adapters)
                    if adapter is item.unit.adapter)
        words = ["pytest", IMPL_OPTION, spec]
        for path in self.config.getoption("--lstm-cases"):
            words += ["--lstm-cases", path]
        return " ".join(shlex.quote(w) for w in words + [item.nodeid])


class LSTMCaseFile(pytest.File):
    """A spec case file: one test per unit of its cases."""

    def collect(self):
        run = self.config.pluginmanager.get_plugin("lstm-conformance-run")
        for unit in run.units.get(self.path.resolve(), []):
            yield LSTMUnitItem.from_parent(self, name=unit.id, unit=unit, run=run)


class LSTMUnitItem(pytest.Item):
    """One unit: a spec case in one dtype on one implementation, with its checks."""

    def __init__(self, *, unit, run, **kwargs):
        super().__init__(**kwargs)
        self.unit, self.run = unit, run
        self.add_marker(pytest.mark.lstm_conformance)

    def runtest(self):
        from .report.results import PASSED, Status, gate_failing
        from .harness.runner import not_run_records, run_unit

        session, plan, budget = self.run.session, self.run.plan, self.run.budget
        left = plan.left_out(self.unit) if plan is not None else {}
        unit = plan.keep(self.unit) if plan is not None else self.unit
        if unit is not None and budget is not None and budget.spent:
            budget.left_out += 1
            left.update({c.name: plugin_wording(budget.reason) for c in unit.checks})
            unit = None
        left_out = [session.judge(r) for r in not_run_records(self.unit, left)]
        if unit is None:  # nothing of this unit runs: a skip that says why
            self.user_properties.append(("lstm_records", left_out))
            pytest.skip(plugin_wording(next(iter(left.values()))))
        records = [session.judge(r) for r in run_unit(unit, self.run.cache)]
        self.user_properties.append(("lstm_records", records + left_out))
        failed = [r for r in records if r["status"] in gate_failing(session.strict)]
        if failed:
            raise LSTMCaseFailure(failed)
        expected = [r for r in records if r["status"] == Status.XFAIL]
        if expected:
            pytest.xfail("; ".join(f"{r['check']}: {r['expected_failure']['reason'].strip()}" for r in expected))
        if not any(r["status"] in PASSED for r in records):
            first = records[0] if records else {"status": Status.SKIPPED, "message": "no check applies"}
            pytest.skip(f"{first['status']}: {first['message']}")

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, LSTMCaseFailure):
            lines = []
            for r in excinfo.value.records:
                message = r["message"] or "passed, but an expectations entry says it fails (--lstm-strict)"
                lines.append(f"{r['status']}: {r['impl']} on {r['case']} [{r['dtype']}], check {r['check']}\n"
                             f"  {message}")
            return "\n".join(lines + [f"re-run: {self.run.rerun_command(self)}"])
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, None, self.name


class LSTMCaseFailure(Exception):
    def __init__(self, records):
        super().__init__("; ".join(r["message"] for r in records))
        self.records = records
