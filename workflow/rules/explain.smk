# Explanation: LRP relevance of every test window, the best and worst localized sources, the input-manipulation
# curves, the TDoA of microphones and relevance and the sanity checks; all but the choice of sources for every
# seed replicate (`{rep}`: "" for replicate 0, "replicates/<r>/" for the others). The page's sources are
# replicate 0's.


rule relevance:
    input:
        data="results/data/{cond}.h5",
        checkpoint=checkpoint,
    output:
        relevance="results/{rep}relevance/{model}/{cond}.h5",
    log:
        "logs/{rep}relevance/{model}/{cond}.log",
    benchmark:
        "benchmarks/{rep}relevance/{model}/{cond}.tsv"
    conda:
        "../../envs/explain.yaml"
    threads: config["explain"]["threads"]
    resources:
        gpu=1,
        mem_mb=8000,
    params:
        settings=lambda wc: step_settings.relevance(config, wc.model),
    script:
        "../scripts/relevance.py"


rule select_sources:
    input:
        sources="results/evaluation/{model}/{cond}/sources.csv",
    output:
        selection="results/selection/{model}/{cond}.json",
    log:
        "logs/select/{model}/{cond}.log",
    conda:
        "../../envs/explain.yaml"
    threads: 1
    params:
        settings=step_settings.select_sources(config),
    script:
        "../scripts/select_sources.py"


rule manipulation:
    input:
        data="results/data/{cond}.h5",
        checkpoint=checkpoint,
        relevance="results/{rep}relevance/{model}/{cond}.h5",
    output:
        curve="results/{rep}manipulation/{model}/{cond}.json",
    log:
        "logs/{rep}manipulation/{model}/{cond}.log",
    benchmark:
        "benchmarks/{rep}manipulation/{model}/{cond}.tsv"
    conda:
        "../../envs/explain.yaml"
    threads: config["explain"]["threads"]
    params:
        settings=lambda wc: step_settings.manipulation(
            config, wc.model, wc.cond, replicate(wc)
        ),
    script:
        "../scripts/manipulation.py"


rule tdoa:
    input:
        data="results/data/{cond}.h5",
        relevance=expand("results/{{rep}}relevance/{model}/{{cond}}.h5", model=models),
    output:
        result="results/{rep}tdoa/{cond}.json",
    log:
        "logs/{rep}tdoa/{cond}.log",
    conda:
        "../../envs/explain.yaml"
    threads: 1
    params:
        settings=lambda wc: step_settings.tdoa(config, wc.cond),
    script:
        "../scripts/tdoa.py"


rule sanity:
    input:
        data="results/data/{cond}.h5",
        checkpoint=checkpoint,
        relevance="results/{rep}relevance/{model}/{cond}.h5",
    output:
        result="results/{rep}sanity/{model}/{cond}.json",
    log:
        "logs/{rep}sanity/{model}/{cond}.log",
    benchmark:
        "benchmarks/{rep}sanity/{model}/{cond}.tsv"
    conda:
        "../../envs/explain.yaml"
    threads: config["explain"]["threads"]
    params:
        settings=lambda wc: step_settings.sanity(
            config, wc.model, wc.cond, replicate(wc)
        ),
    script:
        "../scripts/sanity.py"


rule explanations:
    input:
        data="results/data/{cond}.h5",
        checkpoint=checkpoint,
        relevance="results/{rep}relevance/{model}/{cond}.h5",
        components_file=lambda wc: step_settings.components_file(config, wc.cond),
    output:
        result="results/{rep}explanations/{model}/{cond}.json",
    log:
        "logs/{rep}explanations/{model}/{cond}.log",
    benchmark:
        "benchmarks/{rep}explanations/{model}/{cond}.tsv"
    conda:
        "../../envs/explain.yaml"
    threads: config["explain"]["threads"]
    params:
        settings=lambda wc: step_settings.explanations(
            config, wc.model, wc.cond, replicate(wc)
        ),
    script:
        "../scripts/explanations.py"
