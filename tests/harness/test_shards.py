"""run --shard K/N and merge: the shards of a run, merged, equal the run itself."""
import json
from pathlib import Path

import pytest

from lstm_conformance.cli import main
from lstm_conformance.harness.shards import in_shard, parse_shard
from lstm_conformance.report import results

# A wrong implementation without torch (tests/fixtures/adapters_without_torch.py): failures to shard and merge.
SWAPPED_ROWS = Path(__file__).resolve().parents[1] / "fixtures" / "adapters_without_torch.py"


@pytest.fixture
def selection():
    return ["--impl", "numpy", "--impl", f"{SWAPPED_ROWS}:SwappedRows", "-k", "toy",
            "-k", "random/t5b3*", "--dtype", "float64", "-q", "--allow-empty"]


def comparable(document: dict) -> list:
    """The records without what differs between any two runs (timings)."""
    return sorted(json.dumps({k: v for k, v in r.items() if k not in results.RECORD_MEASURED}, sort_keys=True)
                  for r in document["records"])


def test_shards_partition_the_cases_and_merge_to_the_whole_run(tmp_path, selection, capsys):
    main(["run", "--out", str(tmp_path / "whole")] + selection)
    for k in (1, 2, 3):
        main(["run", "--out", str(tmp_path / f"shard{k}"), "--shard", f"{k}/3"] + selection)
    shard_records = [results.read(tmp_path / f"shard{k}" / "results.json")["records"] for k in (1, 2, 3)]
    assert all(shard_records), "each shard of this selection has cases"
    files = [str(tmp_path / f"shard{k}" / "results.json") for k in (1, 2, 3)]
    assert main(["merge", *files, "--out", str(tmp_path / "merged"), "--junit", str(tmp_path / "merged.xml")]) == 0
    whole = results.read(tmp_path / "whole" / "results.json")
    merged = results.read(tmp_path / "merged" / "results.json")
    assert comparable(merged) == comparable(whole) and len(whole["records"]) > 20
    assert merged["settings"]["merged_shards"] == ["1/3", "2/3", "3/3"]
    assert (tmp_path / "merged" / "correctness.md").read_text() == (tmp_path / "whole" / "correctness.md").read_text()
    # the gate works on merged results
    assert main(["compare", str(tmp_path / "whole" / "results.json"), str(tmp_path / "merged" / "results.json")]) == 0
    capsys.readouterr()


def test_a_case_stays_in_its_shard_whatever_else_is_in_the_library():
    ids = [f"case-{i}" for i in range(200)]
    owners = {i: [k for k in (1, 2, 3, 4) if in_shard(i, (k, 4))] for i in ids}
    assert all(len(o) == 1 for o in owners.values())  # each case in exactly one shard
    assert len({o[0] for o in owners.values()}) == 4  # and every shard gets some
    assert all(in_shard(i, (owners[i][0], 4)) for i in ["case-7"])  # by its id alone


def test_merge_refuses_shards_of_different_runs(tmp_path, selection, capsys):
    main(["run", "--out", str(tmp_path / "a"), "--shard", "1/2"] + selection)
    main(["run", "--out", str(tmp_path / "b"), "--shard", "2/2", "--strict"] + selection)
    code = main(["merge", str(tmp_path / "a" / "results.json"), str(tmp_path / "b" / "results.json"),
                 "--out", str(tmp_path / "m")])
    assert code == 2 and "different settings (strict)" in capsys.readouterr().err
    code = main(["merge", str(tmp_path / "a" / "results.json"), str(tmp_path / "a" / "results.json"),
                 "--out", str(tmp_path / "m")])
    assert code == 2 and "shard 1/2 is given twice" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["0/3", "4/3", "a/b", "1"])
def test_bad_shard_is_a_usage_error(text, capsys):
    with pytest.raises(SystemExit) as info:
        main(["run", "--impl", "numpy", "--shard", text])
    assert info.value.code == 2 and "--shard" in capsys.readouterr().err


def test_parse_shard():
    assert parse_shard("2/4") == (2, 4)
