# Tables: the per-job JSON results gathered into markdown + CSV tables (results/tables/).


rule localization_table:
    input:
        results=step_settings.summaries(config),
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
        settings=step_settings.table("localization"),
    script:
        "../scripts/table.py"


rule manipulation_table:
    input:
        results=expand(
            "results/manipulation/{model}/{cond}.json", model=models, cond=conditions
        ),
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
        settings=step_settings.table("manipulation"),
    script:
        "../scripts/table.py"


rule aopc_table:
    input:
        results=expand(
            "results/manipulation/{model}/{cond}.json", model=models, cond=conditions
        ),
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
        settings=step_settings.table("aopc"),
    script:
        "../scripts/table.py"


rule tdoa_table:
    input:
        results=expand("results/tdoa/{cond}.json", cond=conditions),
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
        settings=step_settings.table("tdoa"),
    script:
        "../scripts/table.py"
