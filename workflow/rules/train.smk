# Training: one model per condition and seed replicate (or the user's pretrained checkpoint), optionally
# warm-started from another condition's checkpoint of the same model and replicate. `{rep}` is "" for
# replicate 0 and "replicates/<r>/" for the others (sslrp.names.replicate_prefix).


rule train:
    input:
        data="results/data/{cond}.h5",
        pretrained=lambda wc: pretrained_checkpoint(wc.model, wc.cond),
        init=lambda wc: warm_start_checkpoint(wc.model, wc.cond, wc.rep),
        check=lambda wc: model_check(wc.model),
    output:
        checkpoint="results/{rep}models/{model}/{cond}.pth",
        history=report(
            "results/{rep}models/{model}/{cond}.csv",
            caption="../report/training.rst",
            category="Training",
            subcategory="{model}",
            labels={
                "model": "{model}",
                "condition": "{cond}",
                "replicate": "{rep}",
                "file": "history",
            },
        ),
        curve=report(
            "results/{rep}models/{model}/{cond}.png",
            caption="../report/training.rst",
            category="Training",
            subcategory="{model}",
            labels={
                "model": "{model}",
                "condition": "{cond}",
                "replicate": "{rep}",
                "file": "loss curve",
            },
        ),
    log:
        "logs/{rep}train/{model}/{cond}.log",
    benchmark:
        "benchmarks/{rep}train/{model}/{cond}.tsv"
    conda:
        "../../envs/train.yaml"
    threads: config["training"]["threads"]
    resources:
        gpu=1,
        mem_mb=8000,
    params:
        settings=lambda wc: step_settings.train(
            config, wc.model, wc.cond, replicate(wc)
        ),
    script:
        "../scripts/train.py"
