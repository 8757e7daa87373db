"""The adopters' CI files (GitHub Actions, GitLab CI) and the pre-commit hooks: valid, and calling
the same commands as the README, .ci/run and `make lint` — one definition of "the tests"."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))


def tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: it is pinned in requirements.txt (make venv)")
    return found


def readme_test_command() -> str:
    """The command the README gives for testing (its "two commands" block)."""
    block = re.search(r"```bash\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), re.S).group(1)
    return next(line.split("#")[0].strip() for line in block.splitlines() if line.startswith("make test"))


def run_steps(workflow: dict) -> list[str]:
    return [step["run"].strip() for job in workflow["jobs"].values() for step in job["steps"] if "run" in step]


def test_there_are_workflows_for_push_and_schedule():
    assert [p.name for p in WORKFLOWS] == ["test-latest.yml", "test.yml"]


@pytest.mark.parametrize("schema, files", [("vendor.github-workflows", [str(p) for p in WORKFLOWS]),
                                           ("vendor.gitlab-ci", [str(REPO / ".gitlab-ci.yml")])])
def test_ci_files_match_their_published_schemas(schema, files):
    result = subprocess.run([tool("check-jsonschema"), "--builtin-schema", schema, *files],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflows_pass_the_actions_linter():
    """zizmor, offline: pinned actions, no persisted credentials, least permissions, no injections."""
    result = subprocess.run([tool("zizmor"), "--offline", "--no-progress", *map(str, WORKFLOWS)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_every_ci_runs_the_readme_test_command():
    command = readme_test_command()
    assert command == "make test"
    ci_script = (REPO / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci_script[-1] == command, ".ci/run ends with the README's test command"

    test = yaml.safe_load((REPO / ".github" / "workflows" / "test.yml").read_text(encoding="utf-8"))
    assert command in run_steps(test)
    assert {"push", "pull_request"} <= set(test[True] if True in test else test["on"])  # YAML 1.1 reads `on` as True
    gitlab = yaml.safe_load((REPO / ".gitlab-ci.yml").read_text(encoding="utf-8"))
    assert gitlab["test"]["script"] == [command]


def test_the_scheduled_runs_call_make_test_latest():
    latest = yaml.safe_load((REPO / ".github" / "workflows" / "test-latest.yml").read_text(encoding="utf-8"))
    triggers = latest[True] if True in latest else latest["on"]
    assert "schedule" in triggers and "make test-latest" in run_steps(latest)
    gitlab = yaml.safe_load((REPO / ".gitlab-ci.yml").read_text(encoding="utf-8"))
    assert gitlab["test-latest"]["script"] == ["make test-latest"]
    assert gitlab["test-latest"]["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"'}]
    assert "test-latest:" in (REPO / "Makefile").read_text(encoding="utf-8")


def test_pre_commit_hooks_are_make_lints_checks():
    result = subprocess.run([tool("pre-commit"), "validate-config", str(REPO / ".pre-commit-config.yaml")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    hooks = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text(encoding="utf-8"))["repos"][0]["hooks"]
    entries = [hook["entry"].replace(".venv/bin/python", "$(PY)") for hook in hooks]
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    lint_recipe = makefile.split("\nlint: venv\n", 1)[1].split("\n\n", 1)[0]
    for line in lint_recipe.strip().splitlines():
        command = line.strip().split(" $(wildcard")[0].split(" notebooks/*.ipynb")[0]
        assert command in entries, f"make lint runs {command!r}, which no pre-commit hook runs"
    ruff_hook = next(hook for hook in hooks if hook["id"] == "ruff")
    folders = re.search(r"\$\(wildcard ([^)]*)\)", lint_recipe).group(1).split()
    assert ruff_hook["files"] == f"^({'|'.join(folders)})/", "pre-commit's ruff sees the folders make lint checks"
