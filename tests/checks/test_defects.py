"""One defect registry (defects.py): the diagnosis names defects from it, the zoo builds them."""
import importlib
import inspect
import pkgutil
import re

import pytest

from lstm_conformance import diagnosis
from lstm_conformance.defects import DEFECTS, named
from lstm_conformance.mutants import ZOO


def test_every_registered_defect_is_one_the_diagnosis_can_name():
    names = [f"{diagnosis.__name__}.{m.name}" for m in pkgutil.iter_modules(diagnosis.__path__)]
    modules = [importlib.import_module(name) for name in names]
    source = "\n".join(inspect.getsource(m) for m in modules)
    used = set(re.findall(r'named\("([a-z0-9-]+)"', source))
    assert used == set(DEFECTS), (set(DEFECTS) - used, used - set(DEFECTS))


def test_every_zoo_defect_is_registered_and_its_text_fills_in():
    with_defect = [m for m in ZOO if m.defect_id]
    assert len(with_defect) >= 15
    for mutant in with_defect:
        assert mutant.defect_id in DEFECTS, mutant.name
        assert mutant.diagnosis_text().defect_id == mutant.defect_id


def test_an_unknown_defect_or_a_missing_field_is_an_error():
    with pytest.raises(KeyError):
        named("no-such-defect")
    with pytest.raises(KeyError):
        named("gate-blocks-swapped", a="i")  # b missing
