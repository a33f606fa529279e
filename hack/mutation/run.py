"""Mutation testing of the pure policy core (operator/strongroom/policy/) with mutmut.

mutmut writes a `mutants/` tree next to the code it mutates, so the run happens in a scratch copy
(the package as src/strongroom, and only the pure tests: tests/policy and tests/test_delivery.py),
never in the repository. Prints the score and every surviving mutant as a diff; exits 1 below the
threshold. Mutants listed in equivalent.toml (beside this file) are left out of the count.

    python hack/mutation/run.py [--threshold 95] [--workdir DIR] [--max-children N]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import textwrap
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
DEFAULT_WORKDIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "strongroom" / "mutation"
MUTATED = "src/strongroom/policy"
TESTS = ("tests/policy", "tests/test_delivery.py")

# The scratch copy's own configuration: mutmut reads [tool.mutmut], pytest [tool.pytest.ini_options].
CONFIG = f"""\
[tool.mutmut]
source_paths = ["src"]
only_mutate = ["{MUTATED}/*"]
pytest_add_cli_args_test_selection = {list(TESTS)!r}
pytest_add_cli_args = ["-p", "no:cacheprovider", "-p", "no:timeout"]
use_git_change_detection = false

[tool.pytest.ini_options]
addopts = "--strict-markers"
"""

# mutmut's statuses that count as killed; any other ("survived", "no tests", "suspicious", ...) does not.
KILLED = frozenset({"killed", "timeout", "caught by type check"})


@dataclass(frozen=True)
class Mutant:
    name: str  # e.g. strongroom.policy.windows.x__check_window__mutmut_7
    status: str
    diff: str = ""

    @property
    def killed(self) -> bool:
        return self.status in KILLED

    @property
    def function(self) -> str:
        """'windows._check_window' for the name above; methods as 'approvals.Tally.missing'."""
        module, _, mangled = self.name.partition("__mutmut_")[0].rpartition(".")
        function = mangled.removeprefix("xǁ").removeprefix("x_").replace("ǁ", ".")
        return f"{module.rpartition('.')[2]}.{function}"

    @property
    def change(self) -> tuple[str, str]:
        """The changed lines of the diff, stripped: (removed, added)."""
        lines = [line for line in self.diff.splitlines() if not line.startswith(("---", "+++"))]
        removed = " ".join(line[1:].strip() for line in lines if line.startswith("-"))
        added = " ".join(line[1:].strip() for line in lines if line.startswith("+"))
        return removed, added


@dataclass(frozen=True)
class Equivalent:
    function: str
    removed: str
    added: tuple[str, ...]  # any of these
    why: str

    def matches(self, mutant: Mutant) -> bool:
        removed, added = mutant.change
        return mutant.function == self.function and removed == self.removed and added in self.added


def load_equivalents(path: Path) -> list[Equivalent]:
    if not path.exists():
        return []
    entries = tomllib.loads(path.read_text()).get("equivalent", [])
    return [
        Equivalent(
            e["function"],
            e["removed"].strip(),
            tuple(a.strip() for a in ([e["added"]] if isinstance(e["added"], str) else e["added"])),
            e["why"],
        )
        for e in entries
    ]


def prepare(workspace: Path) -> None:
    """A fresh scratch copy: the whole package (the policy imports the API models), the pure tests."""
    if workspace.exists():
        shutil.rmtree(workspace)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "operator" / "strongroom", workspace / "src" / "strongroom", ignore=ignore)
    (workspace / "tests").mkdir()
    shutil.copy2(ROOT / "tests" / "__init__.py", workspace / "tests" / "__init__.py")
    for test in TESTS:
        source, target = ROOT / test, workspace / test
        if source.is_dir():
            shutil.copytree(source, target, ignore=ignore)
        else:
            shutil.copy2(source, target)
    (workspace / "pyproject.toml").write_text(CONFIG)


def run_mutmut(workspace: Path, max_children: int, log: Path) -> None:
    command = [sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children)]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    with log.open("w") as out:
        finished = subprocess.run(command, cwd=workspace, stdout=out, stderr=subprocess.STDOUT, env=env, check=False)
    if finished.returncode != 0:
        tail = log.read_text(errors="replace").replace("\r", "\n").splitlines()[-40:]
        sys.exit(f"mutmut run failed (exit {finished.returncode}); the end of {log}:\n" + "\n".join(tail))


def read_results(workspace: Path) -> list[Mutant]:
    """Every mutant with its status, and the diff of each that was not killed (read in the workspace)."""
    os.chdir(workspace)  # mutmut's own helpers read its configuration and mutants/ from the working directory
    from mutmut.mutation.data import SourceFileMutationData  # noqa: PLC0415 - installed by the make target
    from mutmut.mutation.diff_apply import get_diff_for_mutant  # noqa: PLC0415
    from mutmut.stats import status_by_exit_code  # noqa: PLC0415

    mutants = []
    for path in sorted(Path(MUTATED).glob("*.py")):
        data = SourceFileMutationData(path=path)
        data.load()
        for name, code in sorted(data.exit_code_by_key.items()):
            status = status_by_exit_code[code]
            diff = "" if status in KILLED else get_diff_for_mutant(name, path=path)
            mutants.append(Mutant(name, status, diff))
    if not mutants:
        sys.exit("mutmut recorded no mutants: nothing was measured")
    return mutants


def report(mutants: list[Mutant], equivalents: list[Equivalent], threshold: float, seconds: float) -> int:
    excluded = [m for m in mutants if not m.killed and any(e.matches(m) for e in equivalents)]
    counted = [m for m in mutants if m not in excluded]
    killed = sum(m.killed for m in counted)
    survivors = [m for m in counted if not m.killed]
    for mutant in survivors:
        print(f"\n# {mutant.name}: {mutant.status}")
        print(mutant.diff)
    for mutant in excluded:
        why = next(e.why for e in equivalents if e.matches(mutant))
        print(f"equivalent, left out: {mutant.name}: {why}")
    unused = [e for e in equivalents if not any(e.matches(m) for m in mutants)]
    for entry in unused:
        print(f"\nwarning: equivalent.toml entry for {entry.function} matches no mutant ({entry.removed!r})")
    score = 100.0 * killed / len(counted) if counted else 100.0
    raw = 100.0 * killed / len(mutants)
    print(f"\n{len(survivors)} surviving, {len(excluded)} equivalent left out (hack/mutation/equivalent.toml), "
          f"{len(mutants)} generated, in {seconds:.0f} s; {raw:.1f} % counting the equivalent ones")
    print(f"policy core mutation score: {score:.1f} % (killed {killed} of {len(counted)})")
    if score < threshold:
        print(f"below the required {threshold:g} %")
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=textwrap.dedent(__doc__ or "").strip().splitlines()[0])
    parser.add_argument("--threshold", type=float, default=95.0, help="lowest passing score, in percent")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help="scratch space, outside the repo")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    # One scratch space per checkout, so two clones can measure at once.
    scratch = args.workdir.resolve() / f"{ROOT.name}-{hashlib.sha256(str(ROOT).encode()).hexdigest()[:8]}"
    workspace, log = scratch / "workspace", scratch / "mutmut.log"
    started = time.monotonic()
    prepare(workspace)
    print(f"mutating {MUTATED.removeprefix('src/')} against {', '.join(TESTS)} in {workspace} (log: {log})")
    run_mutmut(workspace, args.max_children, log)
    mutants = read_results(workspace)
    return report(mutants, load_equivalents(HERE / "equivalent.toml"), args.threshold, time.monotonic() - started)


if __name__ == "__main__":
    sys.exit(main())
