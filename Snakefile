# Interpreting end-to-end speech source localization CNNs with layer-wise relevance propagation.
# The Snakefile is a table of contents: settings and helpers live in workflow/rules/common.smk.
from snakemake.utils import min_version

min_version("9.0")


report: "workflow/report/workflow.rst"


# The quick default, unless config files are given on the command line: those replace it rather than
# extend it, so that `--configfile config/paper.yaml` runs the paper's protocol and inherits no quick-only
# setting (Snakemake would otherwise merge config/paper.yaml over config/config.yaml).
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/check.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/explain.smk"
include: "workflow/rules/inputs.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/render.smk"


rule all:
    default_target: True
    input:
        all_outputs(),
