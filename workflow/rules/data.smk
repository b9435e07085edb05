# Data: the speech corpus, then per simulated condition its shards and their gathered dataset; a recorded
# condition's dataset is gathered from its manifest's WAV files into the same layout.
# A simulated condition's test windows (a seeded subset) are also split into their sound components.


rule corpus:
    output:
        speech="results/corpus/speech.h5",
    log:
        "logs/corpus.log",
    benchmark:
        "benchmarks/corpus.tsv"
    conda:
        "../../envs/simulate.yaml"
    threads: 1
    params:
        settings=step_settings.corpus(config),
    script:
        "../scripts/corpus.py"


rule simulate_shard:
    input:
        speech="results/corpus/speech.h5",
    output:
        shard_file=temp("results/data/{cond}/shard-{shard}.h5"),
    log:
        "logs/simulate/{cond}/shard-{shard}.log",
    benchmark:
        "benchmarks/simulate/{cond}/shard-{shard}.tsv"
    wildcard_constraints:
        cond=one_of(simulated),
    conda:
        "../../envs/simulate.yaml"
    threads: 1
    resources:
        mem_mb=2000,
    params:
        settings=lambda wc: step_settings.simulate_shard(config, wc.cond, wc.shard),
    script:
        "../scripts/simulate_shard.py"


rule gather_dataset:
    input:
        shards=expand("results/data/{{cond}}/shard-{shard}.h5", shard=shards),
    output:
        data="results/data/{cond}.h5",
    log:
        "logs/gather/{cond}.log",
    benchmark:
        "benchmarks/gather/{cond}.tsv"
    wildcard_constraints:
        cond=one_of(simulated),
    conda:
        "../../envs/simulate.yaml"
    threads: 1
    params:
        settings=lambda wc: step_settings.gather_dataset(config, wc.cond),
    script:
        "../scripts/gather_dataset.py"


rule gather_recordings:
    input:
        files=lambda wc: step_settings.recording_files(config, wc.cond),
    output:
        data="results/data/{cond}.h5",
    log:
        "logs/gather/{cond}.log",
    benchmark:
        "benchmarks/gather/{cond}.tsv"
    wildcard_constraints:
        cond=one_of(recorded),
    conda:
        "../../envs/simulate.yaml"
    threads: 1
    params:
        settings=lambda wc: step_settings.gather_recordings(config, wc.cond),
    script:
        "../scripts/gather_recordings.py"


rule components:
    input:
        data="results/data/{cond}.h5",
        speech="results/corpus/speech.h5",
    output:
        parts="results/components/{cond}.h5",
    log:
        "logs/components/{cond}.log",
    benchmark:
        "benchmarks/components/{cond}.tsv"
    wildcard_constraints:
        cond=one_of(simulated),
    conda:
        "../../envs/simulate.yaml"
    threads: 1
    params:
        settings=lambda wc: step_settings.components(config, wc.cond),
    script:
        "../scripts/components.py"
