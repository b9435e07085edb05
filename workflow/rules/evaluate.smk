# Localization: each trained model (every seed replicate) on its condition's test windows, and the classical
# SRP-PHAT baseline on the same windows (once: no seed changes it).


rule evaluate:
    input:
        data="results/data/{cond}.h5",
        checkpoint=checkpoint,
    output:
        windows="results/{rep}evaluation/{model}/{cond}/windows.csv",
        sources="results/{rep}evaluation/{model}/{cond}/sources.csv",
        summary="results/{rep}evaluation/{model}/{cond}/summary.json",
        positions=report(
            "results/{rep}evaluation/{model}/{cond}/positions.png",
            caption="../report/positions.rst",
            category="Localization",
            subcategory="{model}",
            labels={"model": "{model}", "condition": "{cond}", "replicate": "{rep}"},
        ),
    log:
        "logs/{rep}evaluate/{model}/{cond}.log",
    benchmark:
        "benchmarks/{rep}evaluate/{model}/{cond}.tsv"
    conda:
        "../../envs/train.yaml"
    threads: 1
    params:
        settings=lambda wc: step_settings.evaluate(config, wc.model, wc.cond),
    script:
        "../scripts/evaluate.py"


rule srp_baseline:
    input:
        data="results/data/{cond}.h5",
    output:
        summary="results/evaluation/srp_phat/{cond}/summary.json",
    log:
        "logs/evaluate/srp_phat/{cond}.log",
    benchmark:
        "benchmarks/evaluate/srp_phat/{cond}.tsv"
    conda:
        "../../envs/explain.yaml"
    threads: 1
    params:
        settings=lambda wc: step_settings.srp_baseline(config, wc.cond),
    script:
        "../scripts/srp_baseline.py"
