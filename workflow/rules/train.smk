rule train:
    input:
        data="results/data/{cond}.h5",
        pretrained=lambda wc: pretrained_checkpoint(wc.model, wc.cond),
        init=lambda wc: warm_start_checkpoint(wc.model, wc.cond),
    output:
        checkpoint="results/models/{model}/{cond}.pth",
        history=report(
            "results/models/{model}/{cond}.csv",
            caption="../report/training.rst",
            category="Training",
            subcategory="{model}",
            labels={"model": "{model}", "condition": "{cond}", "file": "history"},
        ),
        curve=report(
            "results/models/{model}/{cond}.png",
            caption="../report/training.rst",
            category="Training",
            subcategory="{model}",
            labels={"model": "{model}", "condition": "{cond}", "file": "loss curve"},
        ),
    log:
        "logs/train/{model}/{cond}.log",
    benchmark:
        "benchmarks/train/{model}/{cond}.tsv"
    conda:
        "../../envs/train.yaml"
    threads: config["training"]["threads"]
    resources:
        gpu=1,
        mem_mb=8000,
    params:
        model_name=lambda wc: wc.model,
        window=config["signals"]["window"],
        n_mics=config["geometry"]["array"]["n_mics"],
        settings=lambda wc: config["training"][wc.model],
        seed=config["seed"],
        device=config["training"]["device"],
    script:
        "../scripts/train.py"


rule evaluate:
    input:
        data="results/data/{cond}.h5",
        checkpoint="results/models/{model}/{cond}.pth",
    output:
        windows="results/evaluation/{model}/{cond}/windows.csv",
        sources="results/evaluation/{model}/{cond}/sources.csv",
        summary="results/evaluation/{model}/{cond}/summary.json",
        positions=report(
            "results/evaluation/{model}/{cond}/positions.png",
            caption="../report/positions.rst",
            category="Localization",
            subcategory="{model}",
            labels={"model": "{model}", "condition": "{cond}"},
        ),
    log:
        "logs/evaluate/{model}/{cond}.log",
    benchmark:
        "benchmarks/evaluate/{model}/{cond}.tsv"
    conda:
        "../../envs/train.yaml"
    threads: 1
    params:
        model_name=lambda wc: wc.model,
        cond=lambda wc: wc.cond,
        window=config["signals"]["window"],
        n_mics=config["geometry"]["array"]["n_mics"],
        device=config["training"]["device"],
    script:
        "../scripts/evaluate.py"


rule srp_baseline:
    input:
        data="results/data/{cond}.h5",
    output:
        "results/evaluation/srp_phat/{cond}/summary.json",
    log:
        "logs/evaluate/srp_phat/{cond}.log",
    benchmark:
        "benchmarks/evaluate/srp_phat/{cond}.tsv"
    conda:
        "../../envs/explain.yaml"
    threads: 1
    params:
        cond=lambda wc: wc.cond,
        geometry=config["geometry"],
        settings=config["srp"],
    script:
        "../scripts/srp_baseline.py"


rule localization_table:
    input:
        localization_summaries(),
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
        kind="localization",
        digits=3,
    script:
        "../scripts/table.py"
