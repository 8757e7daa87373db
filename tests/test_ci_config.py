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
    blocks = re.findall(r"```bash\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), re.S)
    commands = [line.split("#")[0].strip() for block in blocks for line in block.splitlines() if line.startswith("make test")]
    assert len(commands) == 1, f"the README gives one test command, found {commands}"
    return commands[0]


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


def test_the_route_without_make_is_the_makefiles_steps():
    """The README's Windows commands run what `make venv` and `make lab` run (only the paths differ)."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"\*\*Without `make`\*\*.*?```text\n(.*?)```", readme, re.S).group(1)
    windows = [line.replace(".venv\\Scripts\\python", "$(PY)").replace(".venv\\Scripts\\", "$(VENV)/bin/")
               for line in block.splitlines()]
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    for step in ("$(PY) -m pip install --quiet -r requirements.txt -c constraints.txt",
                 "$(PY) -m pip install --quiet --no-deps -e .",
                 '$(PY) -m ipykernel install --user --name $(KERNEL) --display-name "Python 3 (RNN course)"'):
        assert step in makefile, f"the Makefile no longer runs {step!r}: update this test and the README"
        expected = step.replace(" --quiet", "").replace("$(KERNEL)", "rnn-course")
        assert expected in windows, f"the README's route without make lacks {expected!r}"
    assert any(line.startswith("$(VENV)/bin/jupyter lab notebooks") for line in windows)


def test_site_test_needs_no_root_and_no_browser_on_a_learners_machine(tmp_path):
    """Without Chromium and outside CI, `make site-test` says how to get it and skips: no sudo, no apt-get."""
    import os
    import shutil
    import subprocess

    tools = tmp_path / "bin"
    tools.mkdir()
    for name in ("make", "sh", "id", "test", "[", "echo", "env", "touch", "cat"):
        found = shutil.which(name)
        if found:
            (tools / name).symlink_to(found)
    env = {k: v for k, v in os.environ.items() if k != "CI"} | {"PATH": str(tools)}
    result = subprocess.run(["make", "-s", "site-test"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "skipped, chromium and chromedriver are not installed" in result.stdout
    assert "apt-get install chromium" in result.stdout  # how to get them, for the learner to run
    assert "installing" not in result.stdout.lower()
