# Training: one model per condition (or the user's pretrained checkpoint), optionally warm-started from
# another condition's checkpoint of the same model.


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
        settings=lambda wc: step_settings.train(config, wc.model, wc.cond),
    script:
        "../scripts/train.py"
