rule manipulation_figure:
    input:
        expand("results/manipulation/{{model}}/{cond}.json", cond=conditions),
    output:
        report(
            "results/page/figures/manipulation__{model}_.png",
            caption="../report/manipulation_figure.rst",
            category="Manipulation",
            labels={"model": "{model}"},
        ),
    log:
        "logs/render/manipulation_{model}.log",
    conda:
        "../../envs/render.yaml"
    threads: 1
    params:
        model_name=lambda wc: wc.model,
        orderings=config["manipulation"]["figure_orderings"],
    script:
        "../scripts/manipulation_figure.py"


rule render_source:
    input:
        data="results/data/{cond}.h5",
        relevance="results/relevance/{model}/{cond}.h5",
        selection="results/selection/{model}/{cond}.json",
    output:
        figure=report(
            "results/page/figures/ex_gcc_relevance_{model}_{cond}_error_{extreme}.png",
            caption="../report/source_figure.rst",
            category="Feature inspection",
            subcategory="{cond}",
            labels={"model": "{model}", "source": "error_{extreme}", "file": "figure"},
        ),
        microphone=report(
            "results/page/figures/audio_microphone_{model}_{cond}_error_{extreme}.wav",
            caption="../report/audio.rst",
            category="Feature inspection",
            subcategory="{cond}",
            labels={
                "model": "{model}",
                "source": "error_{extreme}",
                "file": "microphone audio",
            },
        ),
        relevance=report(
            "results/page/figures/audio_relevance_{model}_{cond}_error_{extreme}.wav",
            caption="../report/audio.rst",
            category="Feature inspection",
            subcategory="{cond}",
            labels={
                "model": "{model}",
                "source": "error_{extreme}",
                "file": "relevance audio",
            },
        ),
    log:
        "logs/render/{model}/{cond}_error_{extreme}.log",
    conda:
        "../../envs/render.yaml"
    threads: 1
    params:
        model_name=lambda wc: wc.model,
        cond=lambda wc: wc.cond,
        extreme=lambda wc: wc.extreme,
        pair=config["tdoa"]["pair"],
    script:
        "../scripts/render_source.py"


rule page:
    input:
        datasets=expand("results/data/{cond}.h5", cond=conditions),
        localization="results/tables/localization.md",
        summaries=localization_summaries(),
        tdoa="results/tables/tdoa.md",
        figures=page_figures(),
    output:
        md="results/page/index.md",
        html=report(
            "results/page/index.html",
            caption="../report/page.rst",
            category="Results page",
        ),
    log:
        "logs/render/page.log",
    conda:
        "../../envs/render.yaml"
    threads: 1
    params:
        conditions=list(conditions),
        models=models,
        config=config,
    script:
        "../scripts/build_page.py"
