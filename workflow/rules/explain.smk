# Explanation: LRP relevance of every test window, the best and worst localized sources, the input-manipulation
# curves and the TDoA of microphones and relevance.


rule relevance:
    input:
        data="results/data/{cond}.h5",
        checkpoint="results/models/{model}/{cond}.pth",
    output:
        relevance="results/relevance/{model}/{cond}.h5",
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
        checkpoint="results/models/{model}/{cond}.pth",
        relevance="results/relevance/{model}/{cond}.h5",
    output:
        curve="results/manipulation/{model}/{cond}.json",
    log:
        "logs/manipulation/{model}/{cond}.log",
    benchmark:
        "benchmarks/manipulation/{model}/{cond}.tsv"
    conda:
        "../../envs/explain.yaml"
    threads: 2
    params:
        settings=lambda wc: step_settings.manipulation(config, wc.model, wc.cond),
    script:
        "../scripts/manipulation.py"


rule tdoa:
    input:
        data="results/data/{cond}.h5",
        relevance=expand("results/relevance/{model}/{{cond}}.h5", model=models),
    output:
        result="results/tdoa/{cond}.json",
    log:
        "logs/tdoa/{cond}.log",
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
        checkpoint="results/models/{model}/{cond}.pth",
        relevance="results/relevance/{model}/{cond}.h5",
    output:
        result="results/sanity/{model}/{cond}.json",
    log:
        "logs/sanity/{model}/{cond}.log",
    benchmark:
        "benchmarks/sanity/{model}/{cond}.tsv"
    conda:
        "../../envs/explain.yaml"
    threads: 2
    params:
        settings=lambda wc: step_settings.sanity(config, wc.model, wc.cond),
    script:
        "../scripts/sanity.py"
