# The input check: each batch norm's input statistics on a condition's test windows against those its checkpoint
# stored in training (pretrained checkpoints, models of your own, recorded conditions explained with a
# simulation's models), and its table. A model without batch norms gets a report saying the check does not apply.


rule input_check:
    input:
        data="results/data/{cond}.h5",
        checkpoint=lambda wc: step_settings.input_check_checkpoint(
            config, wc.model, wc.cond
        ),
    output:
        result="results/checks/{model}/{cond}_inputs.json",
    log:
        "logs/input_check/{model}/{cond}.log",
    benchmark:
        "benchmarks/input_check/{model}/{cond}.tsv"
    conda:
        "../../envs/explain.yaml"
    threads: config["explain"]["threads"]
    params:
        settings=lambda wc: step_settings.input_check(config, wc.model, wc.cond),
    script:
        "../scripts/input_check.py"


rule input_table:
    input:
        results=step_settings.input_check_results(config),
    output:
        md="results/tables/inputs.md",
        csv="results/tables/inputs.csv",
    log:
        "logs/tables/inputs.log",
    conda:
        "../../envs/render.yaml"
    threads: 1
    params:
        settings=step_settings.input_table(config),
    script:
        "../scripts/table.py"
