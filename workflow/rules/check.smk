# The check of each model of your own (a `models:` entry with `class_path`) before anything trains or explains it:
# it builds the model, runs one batch through it and its LRP composite and reports unknown layer types, conservation
# and randomization groups; its report is an input of the model's training, so editing the model's file re-runs
# that model's chain and nothing else. The built-ins need no check.


rule check_model:
    input:
        files=lambda wc: step_settings.check_inputs(config, wc.model),
    output:
        result=names.model_check("{model}"),
    log:
        "logs/check/{model}.log",
    conda:
        "../../envs/explain.yaml"
    threads: 1
    params:
        settings=lambda wc: step_settings.check_model(config, wc.model),
    script:
        "../scripts/check_model.py"
