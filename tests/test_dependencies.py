"""Every package the portal imports at run time is installed by its main dependencies (or by
theirs), not only by the test extras: the quick start and the image install the main ones alone.
(`requests`, there only as schemathesis' dependency, once got past every test this way.)"""

import ast
import importlib.metadata
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PROJECT_PACKAGES = {
    path.parent.name for path in ROOT.glob("*/__init__.py") if path.parent.name != "tests"
}
RUN_TIME_ROOTS = sorted(PROJECT_PACKAGES - {"bench"})


def _main_requirements() -> set[str]:
    """The main dependencies and everything they require in turn (extras they name too)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pending = [Requirement(line) for line in project["dependencies"]]
    seen: set[str] = set()
    while pending:
        requirement = pending.pop()
        name = requirement.name.lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        # The requirement's own extras switch on its "extra == ..." lines (celery[redis]).
        environments = [{"extra": extra} for extra in requirement.extras] or [{"extra": ""}]
        for line in importlib.metadata.requires(requirement.name) or []:
            needed = Requirement(line)
            if needed.marker is None or any(needed.marker.evaluate(e) for e in environments):
                pending.append(needed)
    return seen


def _imported_top_level_modules() -> dict[str, str]:
    """Top-level modules imported anywhere in the portal's run-time code -> one file doing it."""
    found: dict[str, str] = {}
    for package in RUN_TIME_ROOTS:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


def test_every_third_party_import_comes_from_a_main_dependency():
    installed_by = importlib.metadata.packages_distributions()
    allowed = _main_requirements()
    missing = {}
    for module, where in _imported_top_level_modules().items():
        if module in PROJECT_PACKAGES or module in sys.stdlib_module_names:
            continue
        distributions = {
            name.lower().replace("_", "-") for name in installed_by.get(module, [])
        }
        if not distributions & allowed:
            missing[module] = (where, sorted(distributions))
    assert missing == {}
