"""The rooms of the code and the direction of their imports: each room imports only from rooms below
it (or itself), so a newcomer reads the tree top to bottom and nothing calls back up."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "operator" / "strongroom"
# Lowest first. Rooms on one line may not import each other.
ORDER: list[set[str]] = [
    {"api"},
    {"policy"},
    {"kube"},
    {"webhook"},
    {"identity"},
    {"rotation", "recovery"},
    {"controllers"},
    {"handlers"},
    {"runtime"},
    {"codegen"},
    {"devcluster"},
    {"cli"},
]
RANK = {room: rank for rank, rooms in enumerate(ORDER) for room in rooms}


def imported_names(path: Path) -> list[str]:
    """Every absolute import of a module: `strongroom.api.grant`, `kubernetes`, ..."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.append(node.module or "")
    return names


def imported_rooms(path: Path) -> set[str]:
    parts = [name.split(".") for name in imported_names(path)]
    return {p[1] for p in parts if p[0] == "strongroom" and len(p) > 1}


def test_every_module_lives_in_a_room() -> None:
    loose = [p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert not loose, f"modules outside any room: {loose}"
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()} == set(RANK)


def test_imports_only_run_down() -> None:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        room = path.relative_to(PACKAGE).parts[0]
        if room not in RANK:
            continue
        for other in imported_rooms(path) - {room}:
            if other in RANK and RANK[other] >= RANK[room]:
                wrong.append(f"{path.relative_to(PACKAGE)} imports strongroom.{other}")
    assert not wrong, "\n".join(wrong)


def test_no_two_modules_share_a_name_within_the_operator() -> None:
    """Shared names across rooms are allowed only where the room says the job (api/grant.py is the type,
    controllers/grant.py its controller); listed here so a new clash is a decision, not an accident."""
    allowed = {"__init__.py", "grant.py", "accessrequest.py", "account.py", "safe.py", "rotate.py"}
    seen: dict[str, list[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        seen.setdefault(path.name, []).append(str(path.relative_to(PACKAGE)))
    clashes = {name: where for name, where in seen.items() if len(where) > 1 and name not in allowed}
    assert not clashes, clashes


def test_production_code_and_the_benchmarks_stand_without_the_tests_and_the_dev_tools() -> None:
    """The operator and `python -m bench.*` import neither the test package nor a dev-only tool, so they
    run where only the runtime dependencies are installed."""
    dev_only = {"tests", "pytest", "ruff", "mutmut"}
    sources = [*PACKAGE.rglob("*.py"), *(PACKAGE.parents[1] / "bench").glob("*.py")]
    wrong = []
    for path in sources:
        wrong += [f"{path.name} imports {name}" for name in imported_names(path) if name.split(".")[0] in dev_only]
    assert len(sources) > 50 and not wrong, wrong
