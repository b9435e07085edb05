"""The package follows the pipeline: sslrp's stages (data < localize < explain < report) import only the core
and the stages before them, the core imports no stage, and no stage imports the workflow's glue. Read from the
sources with ast (tests/package_imports.py), so no torch is needed."""

import pytest

from package_imports import PACKAGE, imports, module_name

STAGES = ("data", "localize", "explain", "report")  # in pipeline order
CORE = {"names", "io", "seeding", "metrics"}  # shared by every stage, imports none
GLUE = {"config", "step_settings", "steps"}  # the workflow's glue: may import any stage, imported by none


def layer(module):
    """Where an sslrp module sits: a stage name, "core", "glue" or "package" (sslrp's own __init__)."""
    parts = module.split(".")
    if len(parts) == 1:
        return "package"
    if parts[1] in STAGES:
        return parts[1]
    if parts[1] in CORE:
        return "core"
    if parts[1] in GLUE:
        return "glue"
    raise AssertionError(f"{module} is neither in a stage folder nor listed as core or glue in {__file__}")


def wrong_way(module, imported):
    """Why `module` may not import `imported` (both sslrp modules), or None when it may."""
    source, target = layer(module), layer(imported)
    if source == "glue" or target in ("core", "package") or source == target:
        return None
    if target == "glue":
        return f"{module} imports the glue module {imported}; pass what it needs as arguments instead"
    if source == "core":
        return f"the core module {module} imports the stage module {imported}"
    if source != "package" and STAGES.index(target) > STAGES.index(source):
        return f"{module} (stage {source}) imports {imported} of the later stage {target}"
    return None


def package_modules():
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", package_modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_imports_only_the_core_and_earlier_stages(path):
    module = module_name(path)
    problems = [f"line {imp.line}: {why}" for imp in imports(path) if imp.module.startswith("sslrp")
                for why in [wrong_way(module, imp.module)] if why]
    assert not problems, "\n".join(problems)


def test_every_stage_folder_says_what_it_holds_and_may_import():
    for stage in STAGES:
        init = PACKAGE / stage / "__init__.py"
        doc = init.read_text()
        assert doc.startswith('"""') and "imports" in doc, f"{init} lacks a docstring saying what it may import"
        modules = {p.stem for p in (PACKAGE / stage).glob("*.py")} - {"__init__"}
        assert all(f"`{m}`" in doc for m in modules), f"{init}'s docstring does not name all of {sorted(modules)}"


def test_every_root_module_is_core_or_glue():
    root = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__"}
    assert root == CORE | GLUE


@pytest.mark.parametrize("module, imported, allowed", [
    ("sslrp.explain.lrp", "sslrp.localize.models", True),
    ("sslrp.explain.lrp", "sslrp.explain.batched", True),
    ("sslrp.data.dataset", "sslrp.io", True),
    ("sslrp.config", "sslrp.data.geometry", True),
    ("sslrp.localize.models", "sslrp.explain.lrp", False),
    ("sslrp.data.geometry", "sslrp.report.page", False),
    ("sslrp.metrics", "sslrp.data.geometry", False),
    ("sslrp.report.tables", "sslrp.step_settings", False),
])
def test_the_rule_refuses_imports_that_run_backwards(module, imported, allowed):
    assert (wrong_way(module, imported) is None) == allowed
