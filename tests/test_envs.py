"""Each rule's conda env lists every third-party package its script imports (directly or through the sslrp
modules it uses), at the version pinned in requirements.txt."""

import ast
import re
import sys

import pytest
import yaml

from conftest import REPO, SCRIPTS

DISTRIBUTION = {  # import name -> package name, where they differ
    "yaml": "pyyaml",
    "espeakng_loader": "espeakng-loader",
}
STDLIB = set(sys.stdlib_module_names)


def requirements():
    pins = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.strip().lower()] = version.strip()
    return pins


def env_packages(path):
    """{package: version} from a conda env file, conda (name=version) and pip (name==version) entries."""
    found = {}
    for dep in yaml.safe_load(path.read_text())["dependencies"]:
        for entry in dep["pip"] if isinstance(dep, dict) else [dep]:
            name, _, version = re.split(r"(==|=)", entry, maxsplit=1) if "=" in entry else (entry, "", "")
            found[name.strip().lower()] = version.strip()
    return found


def imports(path, seen=None):
    """Top-level third-party modules a script imports, following `sslrp` imports into the package."""
    seen = set() if seen is None else seen
    if path in seen:
        return set()
    seen.add(path)
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [(a.name, None) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = "sslrp" if node.level else (node.module or "")
            names = [(base + ("." + node.module if node.level and node.module else ""), node.names)]
        else:
            continue
        for module, aliases in names:
            top = module.split(".")[0]
            if top == "sslrp":
                targets = [module.split(".")[1]] if "." in module else [a.name for a in aliases or []]
                for target in targets:
                    source = SCRIPTS / "sslrp" / f"{target}.py"
                    if source.exists():
                        found |= imports(source, seen)
            elif top and top not in STDLIB:
                found.add(top)
    return found


def rule_envs():
    """(rule, env file, script file) for every rule with `conda:` and `script:`."""
    out = []
    for smk in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        for block in re.split(r"\nrule ", "\n" + smk.read_text())[1:]:
            name = block.split(":")[0]
            env = re.search(r'conda:\s*\n\s*"([^"]+)"', block)
            script = re.search(r'script:\s*\n\s*"([^"]+)"', block)
            assert env and script, f"rule {name} in {smk.name} lacks conda: or script:"
            out.append((name, (smk.parent / env.group(1)).resolve(), (smk.parent / script.group(1)).resolve()))
    return out


@pytest.mark.parametrize("rule, env, script", rule_envs(), ids=lambda v: v if isinstance(v, str) else "")
def test_env_lists_what_the_script_imports_at_pinned_versions(rule, env, script):
    packages = env_packages(env)
    pins = requirements()
    for module in sorted(imports(script)):
        name = DISTRIBUTION.get(module, module)
        assert name in packages, f"rule {rule}: {env.name} lacks {name} (imported by {script.name})"
        assert packages[name] == pins[name], f"{env.name}: {name} {packages[name]} but requirements pin {pins[name]}"


def test_every_rule_has_an_env():
    assert len(rule_envs()) >= 14
