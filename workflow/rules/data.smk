rule corpus:
    output:
        "results/corpus/speech.h5",
    log:
        "logs/corpus.log",
    benchmark:
        "benchmarks/corpus.tsv"
    conda:
        "../../envs/simulate.yaml"
    threads: 1
    params:
        corpus_settings=config["corpus"],
        fs=config["geometry"]["fs"],
        seed=config["seed"],
        window=config["signals"]["window"],
    script:
        "../scripts/corpus.py"


rule simulate_shard:
    input:
        corpus="results/corpus/speech.h5",
    output:
        temp("results/data/{cond}/shard-{shard}.h5"),
    log:
        "logs/simulate/{cond}/shard-{shard}.log",
    benchmark:
        "benchmarks/simulate/{cond}/shard-{shard}.tsv"
    conda:
        "../../envs/simulate.yaml"
    threads: 1
    resources:
        mem_mb=2000,
    params:
        condition=lambda wc: conditions[wc.cond],
        geometry_settings=config["geometry"],
        signals=config["signals"],
        shard=lambda wc: int(wc.shard),
        n_shards=config["simulation"]["shards"],
        seed=config["seed"],
    script:
        "../scripts/simulate_shard.py"


rule gather_dataset:
    input:
        shards=expand("results/data/{{cond}}/shard-{shard}.h5", shard=shards),
    output:
        "results/data/{cond}.h5",
    log:
        "logs/gather/{cond}.log",
    benchmark:
        "benchmarks/gather/{cond}.tsv"
    conda:
        "../../envs/simulate.yaml"
    threads: 1
    params:
        name=lambda wc: wc.cond,
        condition=lambda wc: conditions[wc.cond],
        geometry_settings=config["geometry"],
        signals=config["signals"],
        corpus_settings=config["corpus"],
        seed=config["seed"],
    script:
        "../scripts/gather_dataset.py"
