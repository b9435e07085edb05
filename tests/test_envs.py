"""Each rule's conda env lists every third-party package its script imports (directly or through the sslrp
modules it uses), at the version pinned in requirements.txt."""

import re

import pytest
import yaml

from conftest import REPO
from package_imports import third_party

DISTRIBUTION = {  # import name -> package name, where they differ
    "yaml": "pyyaml",
    "espeakng_loader": "espeakng-loader",
}


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
    for module in sorted(third_party(script)):
        name = DISTRIBUTION.get(module, module)
        assert name in packages, f"rule {rule}: {env.name} lacks {name} (imported by {script.name})"
        assert packages[name] == pins[name], f"{env.name}: {name} {packages[name]} but requirements pin {pins[name]}"


def test_every_rule_has_an_env():
    """Every rule the workflow declares (read line by line from the Snakefile and the rule files) but the
    target rule `all` is among those whose conda env is checked above (rule_envs also fails on a rule without
    conda: or script:)."""
    declared = set()
    for path in [REPO / "Snakefile", *(REPO / "workflow" / "rules").glob("*.smk")]:
        declared |= set(re.findall(r"^rule (\w+):", path.read_text(), re.M))
    checked = [name for name, _, _ in rule_envs()]
    assert len(checked) == len(set(checked))
    assert set(checked) == declared - {"all"} and len(checked) >= 23  # 23 when this was written
