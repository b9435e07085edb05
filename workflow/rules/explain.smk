rule relevance:
    input:
        data="results/data/{cond}.h5",
        checkpoint="results/models/{model}/{cond}.pth",
    output:
        "results/relevance/{model}/{cond}.h5",
    log:
        "logs/relevance/{model}/{cond}.log",
    benchmark:
        "benchmarks/relevance/{model}/{cond}.tsv"
    conda:
        "../../envs/explain.yaml"
    threads: 2
    resources:
        gpu=1,
        mem_mb=8000,
    params:
        model_name=lambda wc: wc.model,
        window=config["signals"]["window"],
        n_mics=config["geometry"]["array"]["n_mics"],
        target=config["explain"]["target"],
        gate=config["explain"]["gate"],
        batch_size=config["explain"]["batch_size"],
        device=config["training"]["device"],
    script:
        "../scripts/relevance.py"


rule select_sources:
    input:
        "results/evaluation/{model}/{cond}/sources.csv",
    output:
        "results/selection/{model}/{cond}.json",
    log:
        "logs/select/{model}/{cond}.log",
    conda:
        "../../envs/explain.yaml"
    threads: 1
    script:
        "../scripts/select_sources.py"


rule manipulation:
    input:
        data="results/data/{cond}.h5",
        checkpoint="results/models/{model}/{cond}.pth",
        relevance="results/relevance/{model}/{cond}.h5",
    output:
        "results/manipulation/{model}/{cond}.json",
    log:
        "logs/manipulation/{model}/{cond}.log",
    benchmark:
        "benchmarks/manipulation/{model}/{cond}.tsv"
    conda:
        "../../envs/explain.yaml"
    threads: 2
    params:
        model_name=lambda wc: wc.model,
        cond=lambda wc: wc.cond,
        window=config["signals"]["window"],
        n_mics=config["geometry"]["array"]["n_mics"],
        percents=config["manipulation"]["percents"],
        orderings=config["manipulation"]["orderings"],
        batch_size=config["explain"]["batch_size"],
        seed=config["seed"],
        device=config["training"]["device"],
        gate=config["explain"]["gate"],
        attribution_settings=config["manipulation"]["attribution"],
    script:
        "../scripts/manipulation.py"


rule manipulation_table:
    input:
        expand(
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
        kind="manipulation",
        digits=3,
    script:
        "../scripts/table.py"


rule aopc_table:
    input:
        expand(
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
        kind="aopc",
        digits=3,
    script:
        "../scripts/table.py"


rule tdoa:
    input:
        data="results/data/{cond}.h5",
        relevance=expand("results/relevance/{model}/{{cond}}.h5", model=models),
    output:
        "results/tdoa/{cond}.json",
    log:
        "logs/tdoa/{cond}.log",
    conda:
        "../../envs/explain.yaml"
    threads: 1
    params:
        cond=lambda wc: wc.cond,
        model_names=models,
        pair=config["tdoa"]["pair"],
        max_lag=config["tdoa"]["max_lag"],
        sound_speed=config["geometry"]["sound_speed"],
    script:
        "../scripts/tdoa.py"


rule tdoa_table:
    input:
        expand("results/tdoa/{cond}.json", cond=conditions),
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
        kind="tdoa",
        digits=2,
    script:
        "../scripts/table.py"
