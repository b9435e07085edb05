# Tables: the per-job JSON results gathered into markdown + CSV tables (results/tables/); with several seed
# replicates, every number is their mean with a 95 % confidence interval.


rule localization_table:
    input:
        results=every_replicate(step_settings.summaries),
    output:
        md="results/tables/localization.md",
        csv=report(
            "results/tables/localization.csv",
            caption="../report/localization.rst",
            category="Tables",
            labels={"table": "localization"},
        ),
    log:
        "logs/tables/localization.log",
    conda:
        "../../envs/render.yaml"
    threads: 1
    params:
        settings=step_settings.table(config, "localization"),
    script:
        "../scripts/table.py"


rule manipulation_table:
    input:
        results=every_replicate(step_settings.manipulation_results),
    output:
        md="results/tables/manipulation.md",
        csv=report(
            "results/tables/manipulation.csv",
            caption="../report/manipulation_table.rst",
            category="Tables",
            labels={"table": "manipulation"},
        ),
    log:
        "logs/tables/manipulation.log",
    conda:
        "../../envs/render.yaml"
    threads: 1
    params:
        settings=step_settings.table(config, "manipulation"),
    script:
        "../scripts/table.py"


rule aopc_table:
    input:
        results=every_replicate(step_settings.manipulation_results),
    output:
        md="results/tables/aopc.md",
        csv=report(
            "results/tables/aopc.csv",
            caption="../report/aopc_table.rst",
            category="Tables",
            labels={"table": "AOPC"},
        ),
    log:
        "logs/tables/aopc.log",
    conda:
        "../../envs/render.yaml"
    threads: 1
    params:
        settings=step_settings.table(config, "aopc"),
    script:
        "../scripts/table.py"


rule srg_table:
    input:
        results=every_replicate(step_settings.manipulation_results),
    output:
        md="results/tables/srg.md",
        csv=report(
            "results/tables/srg.csv",
            caption="../report/srg_table.rst",
            category="Tables",
            labels={"table": "SRG"},
        ),
    log:
        "logs/tables/srg.log",
    conda:
        "../../envs/render.yaml"
    threads: 1
    params:
        settings=step_settings.table(config, "srg"),
    script:
        "../scripts/table.py"


rule tdoa_table:
    input:
        results=every_replicate(step_settings.tdoa_results),
    output:
        md="results/tables/tdoa.md",
        csv=report(
            "results/tables/tdoa.csv",
            caption="../report/tdoa.rst",
            category="Tables",
            labels={"table": "TDoA"},
        ),
    log:
        "logs/tables/tdoa.log",
    conda:
        "../../envs/render.yaml"
    threads: 1
    params:
        settings=step_settings.table(config, "tdoa"),
    script:
        "../scripts/table.py"


rule randomization_table:
    input:
        results=every_replicate(step_settings.sanity_results),
    output:
        md="results/tables/randomization.md",
        csv=report(
            "results/tables/randomization.csv",
            caption="../report/randomization_table.rst",
            category="Tables",
            labels={"table": "randomization"},
        ),
    log:
        "logs/tables/randomization.log",
    conda:
        "../../envs/render.yaml"
    threads: 1
    params:
        settings=step_settings.table(config, "randomization"),
    script:
        "../scripts/table.py"


rule sanity_table:
    input:
        results=every_replicate(step_settings.sanity_results),
    output:
        md="results/tables/sanity.md",
        csv=report(
            "results/tables/sanity.csv",
            caption="../report/sanity_table.rst",
            category="Tables",
            labels={"table": "sanity checks"},
        ),
    log:
        "logs/tables/sanity.log",
    conda:
        "../../envs/render.yaml"
    threads: 1
    params:
        settings=step_settings.table(config, "sanity"),
    script:
        "../scripts/table.py"


rule conservation_table:
    input:
        results=every_replicate(step_settings.sanity_results),
    output:
        md="results/tables/conservation.md",
        csv=report(
            "results/tables/conservation.csv",
            caption="../report/conservation_table.rst",
            category="Tables",
            labels={"table": "conservation"},
        ),
    log:
        "logs/tables/conservation.log",
    conda:
        "../../envs/render.yaml"
    threads: 1
    params:
        settings=step_settings.table(config, "conservation"),
    script:
        "../scripts/table.py"


rule explanations_table:
    input:
        results=every_replicate(step_settings.explanation_results),
    output:
        md="results/tables/explanations.md",
        csv=report(
            "results/tables/explanations.csv",
            caption="../report/explanations_table.rst",
            category="Explanation report card",
            labels={"table": "explanations"},
        ),
    log:
        "logs/tables/explanations.log",
    conda:
        "../../envs/render.yaml"
    threads: 1
    params:
        settings=step_settings.table(config, "explanations"),
    script:
        "../scripts/table.py"


rule components_table:
    input:
        results=every_replicate(step_settings.explanation_results),
    output:
        md="results/tables/components.md",
        csv=report(
            "results/tables/components.csv",
            caption="../report/components_table.rst",
            category="Sound components",
            labels={"table": "components"},
        ),
    log:
        "logs/tables/components.log",
    conda:
        "../../envs/render.yaml"
    threads: 1
    params:
        settings=step_settings.table(config, "components"),
    script:
        "../scripts/table.py"
