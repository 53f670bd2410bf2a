"""pytest plugin (entry point `pytest11`): `pytest --lstm-impl file.py:Class` runs the spec
cases against that implementation as tests with readable ids, in any directory.

Without --lstm-impl the plugin adds nothing, so it is harmless in other projects.
"""
from __future__ import annotations

import pytest

IMPL_OPTION = "--lstm-impl"


def pytest_addoption(parser):
    group = parser.getgroup("lstm-conformance")
    group.addoption(IMPL_OPTION, action="append", default=[], metavar="NAME|file.py:Class|module:Class",
                    help="run the LSTM spec cases against this implementation (repeatable)")
    group.addoption("--lstm-cases", action="append", default=[], metavar="FILE",
                    help="spec case file (repeatable; default: the built-in library)")
    group.addoption("--lstm-dtype", action="append", default=[], help="only these dtypes (repeatable)")


class LSTMCaseItem(pytest.Item):
    """One spec case in one dtype on one implementation."""

    def __init__(self, *, case, dtype, adapter, cache, **kwargs):
        super().__init__(**kwargs)
        self.case, self.dtype, self.adapter, self.cache = case, dtype, adapter, cache
        self.add_marker(pytest.mark.lstm_conformance)

    def runtest(self):
        from .expectations import apply_to_record, builtin
        from .runner import run_checks

        # Every check applicable to the case; the shipped expectations of a built-in adapter
        # turn its known, documented defects into xfails.
        known = builtin([self.adapter.name])
        records = [apply_to_record(r, known) for r in run_checks(self.case, self.dtype, self.adapter, self.cache)]
        self.user_properties.append(("lstm_records", records))
        failed = [r for r in records if r["status"] in ("fail", "error")]
        if failed:
            raise LSTMCaseFailure(failed)
        expected = [r for r in records if r["status"] == "xfail"]
        if expected:
            pytest.xfail("; ".join(f"{r['check']}: {r['expected_failure']['reason'].strip()}" for r in expected))
        ran = [r for r in records if r["status"] in ("pass", "xpass")]
        if not ran:
            first = records[0] if records else {"status": "skipped", "message": "no check applies"}
            pytest.skip(f"{first['status']}: {first['message']}")

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, LSTMCaseFailure):
            return "\n".join(f"{r['status']}: {r['impl']} on {r['case']} [{r['dtype']}], check {r['check']}\n  {r['message']}"
                             for r in excinfo.value.records)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.case.file, None, f"{self.adapter.name}::{self.name}"


class LSTMCaseFailure(Exception):
    def __init__(self, records):
        super().__init__("; ".join(r["message"] for r in records))
        self.records = records


def pytest_configure(config):
    config.addinivalue_line("markers", "lstm_conformance: a spec case run by the lstm-conformance plugin")


def pytest_collection_modifyitems(session, config, items):
    impls = config.getoption(IMPL_OPTION)
    if not impls:
        return
    from .registry import AdapterLoadError, load_adapter
    from .runner import ReferenceCache
    from .spec.loader import load_cases

    try:
        adapters = [load_adapter(spec) for spec in impls]
    except AdapterLoadError as err:
        raise pytest.UsageError(str(err)) from None
    cases = load_cases(config.getoption("--lstm-cases") or None)
    dtypes = config.getoption("--lstm-dtype")
    cache = ReferenceCache()
    deselect_by_keyword = config.getoption("keyword")
    new = []
    for adapter in adapters:
        for case in cases:
            for dtype in case.dtypes:
                if dtypes and dtype not in dtypes:
                    continue
                name = f"{case.id}[{dtype}]" if len(adapters) == 1 else f"{adapter.name}::{case.id}[{dtype}]"
                new.append(LSTMCaseItem.from_parent(session, name=name, case=case, dtype=dtype,
                                                    adapter=adapter, cache=cache))
    if deselect_by_keyword:
        from _pytest.mark import deselect_by_keyword as _deselect
        _deselect(new, config)
    items.extend(new)
