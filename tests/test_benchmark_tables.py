"""benchmarks/README.md shows the benchmark scripts' records, generated (tools/benchmark_tables.py)."""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

import benchmark_tables  # noqa: E402

SCRIPTS = sorted(p.stem for p in (REPO / "benchmarks").glob("[a-z]*.py"))


def test_every_benchmark_script_has_a_block_and_the_page_matches_the_records():
    text = benchmark_tables.README.read_text(encoding="utf-8")
    assert sorted(benchmark_tables.BLOCK.findall(text)) == SCRIPTS
    assert benchmark_tables.render(text) == text, "run `python tools/benchmark_tables.py --write`"


def test_every_record_belongs_to_a_script_and_names_its_command_machine_and_date():
    for path in sorted(benchmark_tables.RESULTS.glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        assert record["script"] == path.stem in SCRIPTS
        assert record["command"].startswith(f"python benchmarks/{path.stem}.py")
        assert record["machine"] and record["recorded"] and record["tables"]
        assert all(table["rows"] for table in record["tables"])


def test_a_record_renders_as_tables_and_a_missing_one_says_how_to_make_it(tmp_path):
    record = {"script": "demo", "command": "python benchmarks/demo.py --chars 10", "machine": "a test machine",
              "recorded": "2026-12-03",
              "tables": [{"title": "Speed", "rows": [{"method": "a|b", "chars/s": 12345.678, "ratio": 0.04321,
                                                      "x": 2.5, "measured": True, "n": 1000},
                                                     {"method": "c", "chars/s": None, "ratio": 1.0, "x": 1.0,
                                                      "measured": False, "n": 1}]}]}
    (tmp_path / "demo.json").write_text(json.dumps(record), encoding="utf-8")
    page = "intro\n<!-- benchmark:demo:start -->\nold typed text\n<!-- benchmark:demo:end -->\n" \
           "<!-- benchmark:other:start -->\n<!-- benchmark:other:end -->\n"
    rendered = benchmark_tables.render(page, tmp_path)
    assert "old typed text" not in rendered
    assert "Recorded on 2026-12-03 with `python benchmarks/demo.py --chars 10` on: a test machine." in rendered
    assert "| method | chars/s | ratio | x | measured | n |" in rendered
    assert "| a\\|b | 12,346 | 0.0432 | 2.50 | yes | 1,000 |" in rendered
    assert "| c | – | 1 | 1 | no | 1 |" in rendered  # None: not measured
    assert "*Not recorded yet.* Run `python benchmarks/other.py --record`" in rendered
    assert benchmark_tables.render(rendered, tmp_path) == rendered  # stable


def test_a_benchmark_report_saves_its_tables_as_the_record_the_tool_reads(tmp_path):
    script = (
        "import sys, numpy as np\n"
        f"sys.path.insert(0, {str(REPO / 'benchmarks')!r})\n"
        "from _common import Report\n"
        "report = Report('benchmarks/demo.py', ['--chars', '7', '--record'])\n"
        "report.table('Demo', [{'name': 'one', 'rate': np.float32(2.5), 'count': np.int64(3)}])\n"
        f"report.save(__import__('pathlib').Path({str(tmp_path)!r}))\n")
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True)
    record = json.loads((tmp_path / "demo.json").read_text(encoding="utf-8"))
    assert record["command"] == "python benchmarks/demo.py --chars 7"
    assert record["tables"] == [{"title": "Demo", "rows": [{"name": "one", "rate": 2.5, "count": 3}]}]
    assert "| one | 2.50 | 3 |" in benchmark_tables.block("demo", tmp_path)


def test_the_same_budget_benchmark_says_what_limited_a_missed_target():
    script = (
        "import sys\n"
        f"sys.path.insert(0, {str(REPO / 'benchmarks')!r})\n"
        "from same_budget import limiting_factor\n"
        "row = {'epochs': 12.5, 'train nats/char': 1.30, 'val nats/char': 1.45}\n"
        "print(limiting_factor(row, 1.43))\n"
        "print(limiting_factor({**row, 'train nats/char': 1.50, 'val nats/char': 1.52}, 1.43))\n"
        "print(limiting_factor({**row, 'val nats/char': 1.42}, 1.43))\n")
    printed = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True).stdout
    overfit, budget, met = printed.splitlines()
    assert overfit.startswith("overfitting: the training loss (1.300) is below the target")
    assert budget.startswith("the budget or the model: after 12.5 epochs even the training loss (1.500)")
    assert met == "target met"


def test_the_throughput_benchmark_calls_a_difference_only_when_the_ranges_do_not_overlap():
    script = (
        "import sys\n"
        f"sys.path.insert(0, {str(REPO / 'benchmarks')!r})\n"
        "from training_throughput import summary\n"
        "print(summary([10.0, 12.0, 11.0]))\n"
        "print(summary([13.0, 14.0, 15.0], [10.0, 12.0, 11.0])['verdict'])\n"
        "print(summary([11.5, 14.0, 15.0], [10.0, 12.0, 11.0])['verdict'])\n"
        "print(summary([5.0, 6.0, 5.5], [10.0, 12.0, 11.0]))\n")
    printed = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True).stdout
    baseline, faster, overlapping, slower = printed.splitlines()
    assert baseline == "{'chars/s (median)': 11.0, 'range': '10–12'}"
    assert (faster, overlapping) == ("faster", "cannot tell")
    assert slower == "{'chars/s (median)': 5.5, 'range': '5–6', 'x baseline': 0.5, 'verdict': 'slower'}"
