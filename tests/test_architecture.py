"""The architecture stays as docs/architecture.md draws it: the lifecycle and the import walls."""

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from requests_app.lifecycle_diagram import (
    END_MARKER,
    START_MARKER,
    document_block,
    lifecycle_block,
    lifecycle_edges,
    lifecycle_mermaid,
)
from requests_app.models import FederationRequest, State

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
PYPROJECT = ROOT / "pyproject.toml"
# The project's own packages; those the restructuring has not created yet are skipped.
PACKAGES = (
    "federation_portal",
    "portal_kit",
    "requests_app",
    "agreements",
    "workbench",
    "portal",
    "accounts",
    "support",
)


def _edge_line(edge) -> str:
    source, target, name = edge
    return f"    {source} --> {target} : {name}\n"


# -- the lifecycle diagram --------------------------------------------------------------------


def test_architecture_doc_draws_the_lifecycle_the_code_has():
    assert document_block(DOC.read_text(encoding="utf-8")) == lifecycle_block(), (
        "docs/architecture.md shows a stale lifecycle: "
        "run manage.py lifecycle_diagram --write docs/architecture.md"
    )


def test_diagram_shows_every_transition_method_and_every_state():
    transition_names = {
        name
        for name in dir(FederationRequest)
        if hasattr(getattr(FederationRequest, name), "_django_fsm")
    }
    diagram = lifecycle_mermaid()
    assert {name for _, _, name in lifecycle_edges()} == transition_names
    for value, label in State.choices:
        assert f"    {value} : {label}\n" in diagram
    assert "    fpa_sent : Agreement sent\n" in diagram
    assert "    [*] --> submitted\n" in diagram


def test_diagram_draws_a_transition_from_several_states_once_from_each():
    edges = lifecycle_edges()
    rejected_from = [source for source, target, name in edges if name == "reject"]
    assert rejected_from == ["submitted", "reviewed", "fpa_sent", "signed", "evidence_verified"]
    assert ("fpa_sent", "reviewed", "expire_agreement") in edges


def test_diagram_ends_where_requests_end():
    diagram = lifecycle_mermaid()
    for terminal in ("rejected", "withdrawn", "revoked", "offboarded"):
        assert f"    {terminal} --> [*]\n" in diagram
    # Federated is no longer an end: a partner may be suspended, then reinstated or revoked, or
    # end its agreement itself (offboarded).
    for going_on in ("submitted", "federated", "suspended"):
        assert f"    {going_on} --> [*]\n" not in diagram


def test_command_prints_the_same_diagram_whatever_the_hash_seed():
    # Set order changes with PYTHONHASHSEED; a diff in the doc on every run would be noise.
    printed = {
        subprocess.run(
            [sys.executable, "manage.py", "lifecycle_diagram"],
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert printed == {lifecycle_mermaid()}


STALE_DOCS = {
    "an edge removed": lambda block: block.replace(_edge_line(lifecycle_edges()[0]), ""),
    "an edge added": lambda block: block.replace(
        "    [*] --> submitted\n", "    [*] --> submitted\n    federated --> submitted : undo\n"
    ),
    "a label changed": lambda block: block.replace(": Agreement sent", ": FPA sent"),
    "the block emptied": lambda block: "",
}


@pytest.mark.parametrize("staleness", STALE_DOCS, ids=list(STALE_DOCS))
def test_check_refuses_a_stale_diagram(tmp_path, staleness):
    text = DOC.read_text(encoding="utf-8")
    block = document_block(text)
    stale = STALE_DOCS[staleness](block)
    assert stale != block
    doc = tmp_path / "architecture.md"
    doc.write_text(text.replace(block, stale), encoding="utf-8")

    with pytest.raises(CommandError, match="differs from the state machine") as refused:
        call_command("lifecycle_diagram", check=str(doc))
    assert f"lifecycle_diagram --write {doc}" in str(refused.value)

    call_command("lifecycle_diagram", write=str(doc))
    call_command("lifecycle_diagram", check=str(doc))
    assert doc.read_text(encoding="utf-8") == text


def test_check_fails_the_build_with_the_missing_edge_shown(tmp_path):
    text = DOC.read_text(encoding="utf-8")
    removed = _edge_line(lifecycle_edges()[0])
    doc = tmp_path / "architecture.md"
    doc.write_text(text.replace(removed, ""), encoding="utf-8")

    result = subprocess.run(
        [sys.executable, "manage.py", "lifecycle_diagram", "--check", str(doc)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "differs from the state machine" in result.stderr
    assert "+" + removed in result.stderr


def test_check_and_write_refuse_a_document_without_markers(tmp_path):
    doc = tmp_path / "architecture.md"
    doc.write_text(f"# Architecture\n\n{START_MARKER}\n(no end marker)\n", encoding="utf-8")
    for option in ("check", "write"):
        with pytest.raises(CommandError, match=END_MARKER):
            call_command("lifecycle_diagram", **{option: str(doc)})
    assert "(no end marker)" in doc.read_text(encoding="utf-8")


# -- the import walls (import-linter) ---------------------------------------------------------


def _importlinter_config() -> dict | None:
    with PYPROJECT.open("rb") as file:
        return tomllib.load(file).get("tool", {}).get("importlinter")


CONFIG = _importlinter_config()
needs_contracts = pytest.mark.skipif(
    CONFIG is None,
    reason="pyproject.toml has no [tool.importlinter] section yet, so no wall is enforced",
)


@pytest.fixture
def project_copy(tmp_path) -> Path:
    """The project's packages and pyproject.toml, copied where a test may break them."""
    roots = set(CONFIG.get("root_packages", [])) | {CONFIG.get("root_package")} - {None}
    for name in sorted(roots | {p for p in PACKAGES if (ROOT / p).is_dir()}):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PYPROJECT, tmp_path / "pyproject.toml")
    return tmp_path


def lint_imports(project: Path) -> subprocess.CompletedProcess:
    """Run the venv's lint-imports over project, as the test command does."""
    executable = Path(sys.executable).parent / "lint-imports"
    assert executable.exists(), "import-linter is not installed: pip install import-linter"
    return subprocess.run(
        [str(executable), "--no-cache"],
        cwd=project,
        # The root packages must be importable from the copy, not from the working tree.
        env={**os.environ, "PYTHONPATH": str(project)},
        capture_output=True,
        text=True,
        check=False,
    )


@needs_contracts
def test_project_keeps_every_import_contract(project_copy):
    result = lint_imports(project_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@needs_contracts
def test_requests_app_importing_agreements_breaks_a_named_contract(project_copy):
    # requests_app.models, a module or a package.
    package = project_copy / "requests_app" / "models" / "__init__.py"
    models = package if package.exists() else project_copy / "requests_app" / "models.py"
    models.write_text(models.read_text() + "\nimport agreements.models  # noqa\n")

    result = lint_imports(project_copy)
    assert result.returncode != 0
    broken = [c["name"] for c in CONFIG["contracts"] if f"{c['name']} BROKEN" in result.stdout]
    assert broken, result.stdout + result.stderr
    assert "requests_app.models -> agreements.models" in result.stdout
