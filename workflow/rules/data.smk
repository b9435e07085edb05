rule corpus:
    output:
        "results/corpus/speech.h5",
    params:
        corpus_settings=config["corpus"],
        fs=config["geometry"]["fs"],
        seed=config["seed"],
    log:
        "logs/corpus.log",
    benchmark:
        "benchmarks/corpus.tsv"
    threads: 1
    conda:
        "../../envs/simulate.yaml"
    script:
        "../scripts/corpus.py"


rule simulate_shard:
    input:
        corpus="results/corpus/speech.h5",
    output:
        temp("results/data/{cond}/shard-{shard}.h5"),
    params:
        condition=lambda wc: conditions[wc.cond],
        geometry_settings=config["geometry"],
        signals=config["signals"],
        shard=lambda wc: int(wc.shard),
        n_shards=config["simulation"]["shards"],
        seed=config["seed"],
    log:
        "logs/simulate/{cond}/shard-{shard}.log",
    benchmark:
        "benchmarks/simulate/{cond}/shard-{shard}.tsv"
    resources:
        mem_mb=2000,
    threads: 1
    conda:
        "../../envs/simulate.yaml"
    script:
        "../scripts/simulate_shard.py"


rule gather_dataset:
    input:
        shards=expand("results/data/{{cond}}/shard-{shard}.h5", shard=shards),
    output:
        "results/data/{cond}.h5",
    params:
        name=lambda wc: wc.cond,
        condition=lambda wc: conditions[wc.cond],
        geometry_settings=config["geometry"],
        signals=config["signals"],
        corpus_settings=config["corpus"],
        seed=config["seed"],
    log:
        "logs/gather/{cond}.log",
    benchmark:
        "benchmarks/gather/{cond}.tsv"
    threads: 1
    conda:
        "../../envs/simulate.yaml"
    script:
        "../scripts/gather_dataset.py"
