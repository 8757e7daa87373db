"""Execute every notebook headlessly, each in a fresh kernel and an empty working folder.

Writes, under --out: the executed ``.ipynb``, a static ``.html`` page per notebook,
``index.html`` linking them and ``run_times.json``; prints a table of notebook,
status and wall time. ``--inplace`` also writes the executed notebooks back to
``notebooks/`` (``make refresh``, for maintainers regenerating committed outputs);
both it and ``--record-time`` store the run's wall time in the notebook's metadata,
from which tools/syllabus.py builds the README's syllabus table. ``--inplace`` runs in full
mode only and records a digest of every code cell it executed (tools/code_digest.py), so that
a test can tell when a committed output no longer comes from the code above it.

Usage: python tools/run_notebooks.py [--out build] [--inplace] [NOTEBOOK ...]
"""

from __future__ import annotations

import argparse
import html
import json
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbconvert import HTMLExporter

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from utils.config import FAST_ENV_VAR, mode_name  # noqa: E402  (the one parser of RNN_FAST)

sys.path.insert(0, str(REPO / "tools"))
import code_digest  # noqa: E402
import links  # noqa: E402


def cell_minutes(notebook: nbformat.NotebookNode) -> list[float]:
    """Each code cell's run time in minutes (0.1 min steps), from nbclient's timestamps, which it then removes.

    The timestamps would make every re-run a diff of every cell; the minutes feed the "takes about N min"
    notes above long cells (tools/cell_times.py).
    """
    from datetime import datetime

    minutes = []
    for cell in notebook.cells:
        execution = cell.get("metadata", {}).pop("execution", None)
        if cell.cell_type != "code":
            continue
        try:
            started = datetime.fromisoformat(execution["iopub.execute_input"].replace("Z", "+00:00"))
            ended = datetime.fromisoformat(execution["shell.execute_reply"].replace("Z", "+00:00"))
            minutes.append(round((ended - started).total_seconds() / 60, 1))
        except (TypeError, KeyError, ValueError):
            minutes.append(0.0)  # not executed (an earlier cell failed) or no timestamps
    return minutes


def execute(path: Path, timeout_s: int, stamp: bool = False) -> tuple[nbformat.NotebookNode, str, float]:
    """Run one notebook top to bottom in a new kernel whose working folder is empty.

    With ``stamp``, the course set-up cell and links are stamped in first (tools/links.py), so that a
    notebook re-run in place gets its set-up cell together with that cell's output.
    """
    notebook = nbformat.read(path, as_version=4)
    if stamp:
        links.stamp_notebook(notebook, path.name, links.repo_url())
    started = time.perf_counter()
    status = "ok"
    with tempfile.TemporaryDirectory(prefix="nbrun-") as workdir:
        client = NotebookClient(notebook, timeout=timeout_s, kernel_name="python3", record_timing=True,
                                resources={"metadata": {"path": workdir}})
        try:
            client.execute()
        except CellExecutionError as err:
            status = "FAILED: " + str(err).strip().splitlines()[-1][:120]
    notebook.metadata.setdefault("course", {})["last_cell_minutes"] = cell_minutes(notebook)
    return notebook, status, time.perf_counter() - started


def write_index(out: Path, rows: list[dict]) -> None:
    """A small index.html linking each executed notebook's page."""
    lines = ["<!doctype html><meta charset='utf-8'><title>RNN course: executed notebooks</title>",
             "<h1>RNN course: executed notebooks</h1>",
             f"<p>Mode: {'fast (' + FAST_ENV_VAR + ')' if mode_name() == 'fast' else 'full'}</p>",
             "<table border=1 cellpadding=4><tr><th>Notebook</th><th>Status</th><th>Wall time (min)</th></tr>"]
    for row in rows:
        page = html.escape(row["notebook"].replace(".ipynb", ".html"))
        lines.append(f"<tr><td><a href='{page}'>{html.escape(row['title'])}</a></td>"
                     f"<td>{html.escape(row['status'])}</td><td>{row['minutes']:.1f}</td></tr>")
    lines.append("</table>")
    (out / "index.html").write_text("\n".join(lines), encoding="utf-8")


def title_of(notebook: nbformat.NotebookNode, fallback: str) -> str:
    """The notebook's H1 heading."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    parser.add_argument("--out", type=Path, default=REPO / "build")
    parser.add_argument("--inplace", action="store_true", help="also overwrite notebooks/ with the results")
    parser.add_argument("--record-time", action="store_true",
                        help="store this mode's wall time in the source notebook's metadata (for the syllabus)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    args = parser.parse_args(argv)
    mode_name()  # a value of RNN_FAST that utils.config does not understand stops the run here, not in a kernel
    if args.inplace and mode_name() == "fast":
        parser.error(f"--inplace writes the committed outputs, which come from full mode: unset {FAST_ENV_VAR} "
                     f"(or set {FAST_ENV_VAR}=0)")

    paths = args.notebooks or sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        print("no notebooks found", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter(template_name="lab")
    rows = []
    for path in paths:
        print(f"running {path.name} ...", flush=True)
        notebook, status, seconds = execute(path, args.timeout, stamp=args.inplace)
        per_cell = notebook.metadata["course"].pop("last_cell_minutes")
        nbformat.write(notebook, args.out / path.name)
        page, _ = exporter.from_notebook_node(notebook)
        (args.out / path.with_suffix(".html").name).write_text(page, encoding="utf-8")
        if status == "ok" and (args.inplace or args.record_time):
            mode = mode_name()
            source = notebook if args.inplace else nbformat.read(path, as_version=4)
            source.metadata.setdefault("course", {}).setdefault("run_minutes", {})[mode] = round(seconds / 60, 1)
            source.metadata["course"].setdefault("cell_minutes", {})[mode] = per_cell
            if args.inplace:
                code_digest.record(source)  # these outputs come from exactly this code
            nbformat.write(source, path)  # --record-time alone leaves the committed outputs untouched
        rows.append({"notebook": path.name, "title": title_of(notebook, path.stem),
                     "status": status, "minutes": seconds / 60})
    write_index(args.out, rows)
    (args.out / "run_times.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")

    width = max(len(r["notebook"]) for r in rows)
    print(f"\n{'notebook':<{width}}  {'status':<8}  wall time")
    for row in rows:
        print(f"{row['notebook']:<{width}}  {row['status']:<8}  {row['minutes']:.1f} min")
    print(f"\nwrote {args.out / 'index.html'}")
    return 0 if all(r["status"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
