"""The course's address in one place (tools/links.py), the notebooks' set-up cell, and installing safely."""

import base64
import hashlib
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
sys.path.insert(0, str(REPO / "tools"))
sys.path.insert(0, str(REPO / "tools" / "packaging"))

import code_digest  # noqa: E402
import course_build_backend  # noqa: E402
import links  # noqa: E402


def test_every_notebook_and_the_readme_carry_the_current_address():
    assert links.main(["--check"]) == 0


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_first_code_cell_is_the_set_up_cell(path):
    notebook = nbformat.read(path, as_version=4)
    if code_digest.recorded(notebook) is None:  # listed in test_code_digests.AWAITING_RERUN
        pytest.skip("its committed run predates the set-up cell: make refresh inserts it with its output")
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code[0].source == links.setup_cell(links.repo_url())
    assert "import utils" not in code[0].source and "from utils" not in code[0].source


def test_stamping_is_idempotent_and_moves_with_the_address():
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# 09 · Title\n\nOverview."),
        nbformat.v4.new_markdown_cell("## Setup"),
        nbformat.v4.new_code_cell("import utils"),
    ])
    assert links.stamp_notebook(notebook, "09_title.ipynb", "https://github.com/a/b")
    sources = [cell.source for cell in notebook.cells]
    assert sources[2] == links.setup_cell("https://github.com/a/b") and sources[3] == "import utils"
    assert "colab.research.google.com/github/a/b/blob/main/notebooks/09_title.ipynb" in sources[0]
    assert sources[0].endswith("Overview.")
    assert not links.stamp_notebook(notebook, "09_title.ipynb", "https://github.com/a/b")
    assert links.stamp_notebook(notebook, "09_title.ipynb", "https://github.com/c/d")
    assert len(notebook.cells) == 4 and "github/c/d/" in notebook.cells[0].source
    assert "github/a/b" not in notebook.cells[0].source + notebook.cells[2].source


@pytest.mark.parametrize("url", ["github.com/a/b", "https://gitlab.com/a/b", "https://github.com/a", ""])
def test_an_address_that_colab_cannot_open_is_refused(url, tmp_path):
    with pytest.raises(ValueError, match="REPO must look like https://github.com/OWNER/NAME"):
        links.check_repo_url(url)
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project.urls]\nRepository = "https://github.com/x/y"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="REPO must look like"):
        links.set_repo_url(url, pyproject)
    assert links.repo_url(pyproject) == "https://github.com/x/y"  # untouched


def test_make_links_changes_no_code_digest():
    """Moving the course to another address must not call for re-running every notebook."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 09 · T"),
                                               nbformat.v4.new_code_cell("import utils")])
    links.stamp_notebook(notebook, "09_t.ipynb", "https://github.com/a/b")
    before = code_digest.code_digests(notebook)
    links.stamp_notebook(notebook, "09_t.ipynb", "https://github.com/c/d")
    assert code_digest.code_digests(notebook) == before
    notebook.cells[1].source = notebook.cells[1].source.replace("FAST_MODE = None", "FAST_MODE = True")
    assert code_digest.code_digests(notebook) != before  # any other edit of the cell counts


def test_make_links_inserts_no_code_cell():
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 09 · T"),
                                               nbformat.v4.new_code_cell("import utils")])
    links.stamp_notebook(notebook, "09_t.ipynb", "https://github.com/a/b", insert_setup=False)
    assert [c.source for c in notebook.cells if c.cell_type == "code"] == ["import utils"]
    assert "Open in Colab" in notebook.cells[0].source


def test_set_repo_url_rewrites_the_one_place(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\n[project.urls]\nRepository = "https://github.com/x/y"\n', encoding="utf-8")
    links.set_repo_url("https://github.com/new-org/course/", pyproject)
    assert links.repo_url(pyproject) == "https://github.com/new-org/course"


def test_a_regular_wheel_is_refused_with_what_to_do_instead(tmp_path):
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                             "--wheel-dir", str(tmp_path), str(REPO)], capture_output=True, text=True, timeout=300)
    assert result.returncode != 0 and not list(tmp_path.glob("*.whl"))
    assert "installs only in editable mode" in result.stdout + result.stderr


def test_the_backend_builds_an_editable_wheel_that_points_at_the_course(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    name = course_build_backend.build_editable(str(tmp_path))
    with zipfile.ZipFile(tmp_path / name) as wheel:
        names = wheel.namelist()
    assert not any(n.startswith("utils/") for n in names), "an editable wheel copies nothing of utils/"
    assert any(n.endswith(".pth") for n in names)


def _fake_pypi_utils_wheel(folder: Path) -> Path:
    """A stand-in for PyPI's unrelated `utils` distribution: a package of the same import name."""
    files = {"utils/__init__.py": b"WHO = 'the other utils'\n", "utils/other.py": b"X = 1\n",
             "utils-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: utils\nVersion: 1.0\n",
             "utils-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = "".join(f"{name},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},"
                     f"{len(data)}\n" for name, data in files.items()) + "utils-1.0.dist-info/RECORD,,\n"
    path = folder / "utils-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for name, data in files.items():
            wheel.writestr(name, data)
        wheel.writestr("utils-1.0.dist-info/RECORD", record)
    return path


def _snapshot_of_the_working_tree(folder: Path) -> Path:
    """A git repository holding this checkout's files as they are now (committed or not): the "remote"."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, folder / name)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "--quiet", "--initial-branch=main"], cwd=folder, check=True)
    subprocess.run([*git, "add", "--all"], cwd=folder, check=True)
    subprocess.run([*git, "commit", "--quiet", "-m", "snapshot"], cwd=folder, check=True)
    return folder


def test_first_cell_installs_the_course_into_a_bare_jupyter(tmp_path):
    """A bare Jupyter, with another `utils` already installed, runs the notebooks' first cell from a file:// clone.

    The cell clones, installs the course editable, and `utils` then imports from the clone; the other
    `utils` keeps its files, before and after the course is uninstalled. (Installs TensorFlow and the
    other requirements into a new virtualenv: a few minutes, mostly from pip's cache.)
    """
    remote = _snapshot_of_the_working_tree(tmp_path / "remote")
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", str(bare)], check=True, timeout=300)
    python = bare / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    constraints = ["-c", str(REPO / "constraints.txt")]  # the versions CI tests, so pip's cache serves them
    subprocess.run([*pip, *constraints, "nbclient", "ipykernel"], check=True, timeout=900)
    subprocess.run([*pip, "--no-index", str(_fake_pypi_utils_wheel(tmp_path))], check=True, timeout=300)
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    other_files = {p.name: p.read_bytes() for p in (site / "utils").iterdir() if p.is_file()}

    setup = links.setup_cell(remote.as_uri())  # every notebook's first cell, for a course at that address
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(setup),
        nbformat.v4.new_code_cell("import utils, utils.config\nprint(utils.__file__)\nprint(utils.config.mode_name())"),
    ])
    nbformat.write(notebook, tmp_path / "first_cell.ipynb")
    home = tmp_path / "course-home"
    runner = textwrap.dedent(f"""
        import nbformat
        from nbclient import NotebookClient
        notebook = nbformat.read({str(tmp_path / 'first_cell.ipynb')!r}, as_version=4)
        NotebookClient(notebook, timeout=1800, kernel_name="python3").execute()
        for cell in notebook.cells:
            print("".join(o.get("text", "") for o in cell.outputs))
    """)
    env = {"PATH": f"{bare / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "RNN_COURSE_HOME": str(home),
           "PIP_CONSTRAINT": str(REPO / "constraints.txt"), "RNN_FAST": "1"}
    result = subprocess.run([str(python), "-c", runner], capture_output=True, text=True, timeout=2400, env=env,
                            cwd=tmp_path)  # not the repository: its utils/ must not be importable from the kernel
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]
    assert f"Cloning the course from {remote.as_uri()}" in result.stdout
    assert "Installed the course's helpers" in result.stdout and "Mode: fast" in result.stdout
    assert str(home / "utils" / "__init__.py") in result.stdout, result.stdout
    assert {p.name: p.read_bytes() for p in (site / "utils").iterdir() if p.is_file()} == other_files
    subprocess.run([str(python), "-m", "pip", "uninstall", "--quiet", "--yes", "rnn-course-utils"], check=True, timeout=300)
    assert {p.name: p.read_bytes() for p in (site / "utils").iterdir() if p.is_file()} == other_files
