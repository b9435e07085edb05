"""The worked example of "Explain your own model" (README): the workflow on examples/tiny_resnet.py (BatchNorm, a
residual block, a canonizer hook) at the tiny scale, one condition, from an empty folder, with the example's files
copied in as a researcher's would lie beside their config. The model's class is named from a file `random.py` that
imports it from its neighbour, and the hook lies in `torch.py`: files named like installed modules, which must shadow
nothing (training imports sympy, which needs the standard library's random; the hook imports the real torch). The
page and the tables list the model with its numbers, the check report lies among the results, and a fixed model
file re-runs that model's chain and nothing else."""

import csv
import json
import re
import shutil

import pytest
import yaml

from conftest import REPO
from tiny_workflow import TINY, snakemake, write_config

COND = "SNR_20_T60_0.2"


@pytest.fixture(scope="module")
def user_model_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("user_model")
    shutil.copytree(REPO / "examples", workdir / "examples")
    overlay = yaml.safe_load((REPO / "examples" / "tiny_resnet.yaml").read_text())
    own = [entry for entry in overlay["models"] if isinstance(entry, dict)]  # without the overlay's LocCNN
    examples = workdir / "examples"
    (examples / "random.py").write_text("from tiny_resnet import TinyResNet  # the model lies beside this file\n")
    shutil.copy(examples / "tiny_resnet_lrp.py", examples / "torch.py")
    own = [{**entry, "class_path": "examples/random.py:TinyResNet", "canonizers": "examples/torch.py:canonizers"}
           for entry in own]
    config = {**TINY, "conditions": TINY["conditions"][:1], "models": own,
              "training": {"tiny_resnet": {**overlay["training"]["tiny_resnet"], "max_epochs": 2}},
              "sanity": {"windows": 8}}
    write_config(workdir, config)
    done = snakemake(workdir)
    assert done.returncode == 0, done.stderr[-4000:]
    return workdir


def test_page_and_tables_list_the_user_model_with_its_numbers(user_model_run):
    results = user_model_run / "results"
    page = (results / "page" / "index.md").read_text()
    assert "### tiny_resnet" in page and "figures/manipulation__tiny_resnet_.png" in page
    assert re.search(r"^tiny_resnet (localizes|localizes only partly|does not localize) between its training "
                     r"positions \(validation MAE", page, re.M)
    assert re.search(r"^- tiny_resnet, T60 .*: with every layer re-initialized", page, re.M)
    with open(results / "tables" / "localization.csv") as f:
        rows = {r["model"]: r for r in csv.DictReader(f)}
    summary = json.loads((results / "evaluation" / "tiny_resnet" / COND / "summary.json").read_text())
    assert float(rows["tiny_resnet"]["MAE [m]"]) == pytest.approx(summary["mae"], abs=1e-3)
    for table in ("manipulation", "aopc", "srg", "sanity", "conservation", "randomization"):
        text = (results / "tables" / f"{table}.csv").read_text()
        assert "tiny_resnet" in text, table
    sanity = json.loads((results / "sanity" / "tiny_resnet" / f"{COND}.json").read_text())
    assert [s["layer"] for s in sanity["randomization"]] == ["none", "out", "block.conv2+block.bn2",
                                                             "block.conv1+block.bn1", "conv+bn"]
    check = json.loads((results / "checks" / "tiny_resnet.json").read_text())
    assert check["unknown_layers"] == {} and check["output_shape"] == [4, 3]  # the hook in torch.py was applied
    assert check["class_path"] == "examples/random.py:TinyResNet"


def test_a_fixed_model_file_reruns_its_chain_only(user_model_run, tmp_path):
    model_file = user_model_run / "examples" / "random.py"  # the class_path file
    model_file.write_text(model_file.read_text() + "\n# fixed a comment\n")
    done = snakemake(user_model_run, "-n", "--rerun-triggers", "mtime")
    assert done.returncode == 0, done.stderr[-2000:]
    jobs = {line.split()[0] for line in done.stdout.splitlines() if re.match(r"^\w+\s+\d+$", line)}
    assert {"check_model", "train", "relevance", "evaluate"} <= jobs
    assert not jobs & {"corpus", "simulate_shard", "gather_dataset", "srp_baseline"}
