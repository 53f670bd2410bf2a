"""Speed records from pytest-benchmark's JSON: ratios in the same run, GFLOP/s, share of the GEMM
rate, reasons for what was not measured; and the Markdown table made from them."""
import json

import pytest

from lstm_conformance.bench import ReferenceTiming, gemm_rates, ratio_summary, speed_records
from lstm_conformance.report.tables import speed_markdown


class Named:
    def __init__(self, name, device="cpu"):
        self.name, self.device = name, device

    def capabilities(self):
        from lstm_conformance.adapter import Capabilities
        return Capabilities(devices={self.device})


def _bench(median, **info):
    return {"extra_info": info, "stats": {"median": median, "iqr": median / 10, "rounds": 7, "min": median,
                                          "mean": median}}


def _write(tmp_path, benchmarks):
    path = tmp_path / "benchmark.json"
    path.write_text(json.dumps({"benchmarks": benchmarks}))
    return path


def test_ratio_gflops_and_gemm_share(tmp_path):
    shape = "t10b2i3h5"  # 2·T·B·4H·(I + H) = 6,400 forward FLOPs
    path = _write(tmp_path, [
        _bench(2e-6, kind="lstm", shape=shape, mode="forward", dtype="float32", impl="torch-lstm"),
        _bench(6e-6, kind="lstm", shape=shape, mode="forward", dtype="float32", impl="numpy"),
        _bench(1e-3, kind="gemm", dtype="float32", device="cpu", library="numpy", m=100, k=100, n=100),
        _bench(5e-4, kind="gemm", dtype="float32", device="cpu", library="torch", m=100, k=100, n=100),
    ])
    records = speed_records(path, [Named("numpy"), Named("torch-lstm"), Named("mine")], [shape], ["float32"],
                            {(shape, "forward", "float32", "mine"): "no GPU"})
    by_impl = {r["impl"]: r for r in records}
    assert by_impl["torch-lstm"]["ratio"] == 1.0 and abs(by_impl["numpy"]["ratio"] - 3.0) < 1e-12
    assert abs(by_impl["torch-lstm"]["gflops"] - 6400 / 2e-6 / 1e9) < 1e-9
    gemm = by_impl["numpy"]["gemm"]
    assert gemm["library"] == "torch" and abs(gemm["gflops"] - 4.0) < 1e-9  # the faster library is the limit
    assert abs(by_impl["numpy"]["gemm_share"] - by_impl["numpy"]["gflops"] / 4.0) < 1e-12
    assert by_impl["mine"]["status"] == "not measured" and by_impl["mine"]["message"] == "no GPU"
    assert ratio_summary(records) == {("torch-lstm", "forward", "float32"): 1.0, ("numpy", "forward", "float32"): 3.0}


def test_ratios_use_the_given_baseline_and_match_mode_and_dtype(tmp_path):
    shape = "t10b2i3h5"
    path = _write(tmp_path, [
        _bench(1.0, kind="lstm", shape=shape, mode="training", dtype="float64", impl="cuda"),
        _bench(0.5, kind="lstm", shape=shape, mode="training", dtype="float64", impl="triton"),
        _bench(9.0, kind="lstm", shape=shape, mode="forward", dtype="float64", impl="cuda"),
    ])
    records = speed_records(path, [Named("cuda", "cuda"), Named("triton", "cuda")], [shape], ["float64"], {},
                            modes=["forward", "training"], baseline="cuda")
    training = {r["impl"]: r for r in records if r["mode"] == "training"}
    assert training["triton"]["ratio"] == 0.5 and training["triton"]["flops"] == 3 * 6400
    forward = {r["impl"]: r for r in records if r["mode"] == "forward"}
    assert forward["triton"]["status"] == "not measured" and forward["cuda"]["ratio"] == 1.0
    assert "gemm" not in training["triton"]  # no GEMM was measured for float64 on cuda


def test_gemm_rates_keep_the_fastest_per_dtype_and_device():
    rates = gemm_rates([_bench(2.0, kind="gemm", dtype="float32", device="cpu", library="numpy", m=10, k=10, n=10),
                        _bench(1.0, kind="gemm", dtype="float32", device="cpu", library="torch", m=10, k=10, n=10),
                        _bench(1.0, kind="gemm", dtype="float64", device="cpu", library="torch", m=10, k=10, n=20)])
    assert rates[("float32", "cpu")]["library"] == "torch" and rates[("float64", "cpu")]["n"] == 20


def test_speed_table_shows_every_column_and_the_gemm_line():
    gemm = {"gflops": 200.0, "library": "numpy", "m": 64, "k": 32, "n": 128, "median": 1e-6}
    speed = [{"shape": "t10b2i3h5", "mode": "training", "dtype": "float32", "device": "cpu", "impl": "numpy",
              "status": "ok", "median": 3e-3, "iqr": 1e-4, "rounds": 9, "ratio": 1.5, "gflops": 50.0,
              "gemm": gemm, "gemm_share": 0.25},
             {"shape": "t10b2i3h5", "mode": "training", "dtype": "float32", "impl": "reference",
              "status": "not measured", "message": "the reference computes in float64 only"}]
    text = speed_markdown(speed, {"cpu": "Test CPU", "torch_threads": 2, "matmul_allow_tf32": False})
    assert "float32 cpu 200.0 GFLOP/s (numpy, 64×32 @ 32×128)" in text
    row = next(line for line in text.splitlines() if "| numpy" in line)
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[:10] == ["t10b2i3h5", "training", "float32", "numpy", "3 ms", "100 µs", "9", "1.50×", "50",
                          "25.0%"]
    assert "the reference computes in float64 only" in text
    assert "torch_threads 2" in text and "matmul_allow_tf32 False" in text


def test_reference_target_is_float64_only_and_says_why():
    from lstm_conformance.bench import parse_shape
    from lstm_conformance.spec.materialize import materialize
    target = ReferenceTiming()
    assert target.unsupported_reason(materialize(parse_shape("t2b1i2h3"), "float32")) == \
        "the reference computes in float64 only"
    assert target.unsupported_reason(materialize(parse_shape("t2b1i2h3l2bi"), "float64")) is None


def test_interleaved_rounds_give_a_paired_ratio_its_interval_and_the_noise_verdict(tmp_path):
    shape = "t10b2i3h5"
    base_rounds = [1e-3, 2e-3, 1e-3, 4e-3, 1e-3, 1e-3]  # bursts that hit both implementations alike
    noise = {"reasons": [], "attempts": 2, "limit": 0.1, "load_average_1min": 0.5, "cores": 2,
             "spread": {"numpy": 0.02, "torch-lstm": 0.3}}
    benches = []
    for impl, factor in (("torch-lstm", 1.0), ("numpy", 1.5)):
        bench = _bench(1e-3 * factor, kind="lstm", shape=shape, mode="forward", dtype="float32", impl=impl,
                       noise=noise)
        bench["stats"]["data"] = [t * factor for t in base_rounds]
        benches.append(bench)
    benches += [_bench(1e-3, kind="gemm", when="before", dtype="float32", device="cpu", library="numpy",
                       m=100, k=100, n=100),
                _bench(2e-3, kind="gemm", when="after", dtype="float32", device="cpu", library="numpy",
                       m=100, k=100, n=100)]
    records = speed_records(_write(tmp_path, benches), [Named("numpy"), Named("torch-lstm")], [shape], ["float32"], {})
    numpy = next(r for r in records if r["impl"] == "numpy")
    assert numpy["ratio"] == pytest.approx(1.5) and numpy["ratio_ci"] == pytest.approx([1.5, 1.5])
    assert numpy["reliable"] is False and numpy["noise"]["reasons"] == ["torch-lstm: IQR 30% of the median (limit 10%)"]
    assert numpy["gemm"]["gflops"] == pytest.approx(2.0) and numpy["gemm"]["after"] == pytest.approx(1.0)


def test_speed_table_notes_unreliable_rows_and_a_share_above_the_gemm_rate():
    gemm = {"gflops": 40.0, "library": "numpy", "m": 1024, "k": 1024, "n": 1024, "before": 40.0, "after": 38.0}
    speed = [{"shape": "t10b2i3h5", "mode": "forward", "dtype": "float32", "impl": "torch-lstm", "status": "ok",
              "median": 1e-3, "iqr": 1e-5, "rounds": 9, "ratio": 1.05, "ratio_ci": [0.98, 1.12], "gflops": 43.1,
              "gemm": gemm, "gemm_share": 1.078, "reliable": False,
              "noise": {"reasons": ["load average 3.10 above the 2 cores"]}}]
    text = speed_markdown(speed)
    row = next(line for line in text.splitlines() if "| torch-lstm" in line)
    assert "1.05× [0.98–1.12]" in row and "107.8% (!)" in row and "above the GEMM rate" in row
    assert "unreliable, not gated: load average 3.10 above the 2 cores" in row
    assert "1024×1024 @ 1024×1024; 40.0 / 38.0" in text
