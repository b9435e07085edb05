# Rendering: the manipulation and randomization figures (over every seed replicate), the best/worst sources'
# figures and audio (replicate 0's), and the results page, under the seed page's file names (sslrp.names).


rule manipulation_figure:
    input:
        curves=lambda wc: every_replicate(
            step_settings.manipulation_results, models=[wc.model]
        ),
    output:
        figure=report(
            page_file(names.manipulation_figure("{model}")),
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
        settings=lambda wc: step_settings.manipulation_figure(config, wc.model),
    script:
        "../scripts/manipulation_figure.py"


rule randomization_figure:
    input:
        results=lambda wc: every_replicate(
            step_settings.sanity_results, models=[wc.model]
        ),
    output:
        figure=report(
            page_file(names.randomization_figure("{model}")),
            caption="../report/randomization_figure.rst",
            category="Sanity checks",
            labels={"model": "{model}"},
        ),
    log:
        "logs/render/randomization_{model}.log",
    conda:
        "../../envs/render.yaml"
    threads: 1
    params:
        settings=lambda wc: step_settings.randomization_figure(config, wc.model),
    script:
        "../scripts/randomization_figure.py"


rule explanations_figure:
    input:
        results=lambda wc: step_settings.explanation_results(config, models=[wc.model]),
    output:
        figure=report(
            page_file(names.explanations_figure("{model}")),
            caption="../report/explanations_figure.rst",
            category="Explanation report card",
            labels={"model": "{model}"},
        ),
    log:
        "logs/render/explanations_{model}.log",
    conda:
        "../../envs/render.yaml"
    threads: 1
    params:
        settings=lambda wc: step_settings.card_figure(config, wc.model, "explanations"),
    script:
        "../scripts/card_figure.py"


rule components_figure:
    input:
        results=lambda wc: step_settings.explanation_results(config, models=[wc.model]),
    output:
        figure=report(
            page_file(names.components_figure("{model}")),
            caption="../report/components_figure.rst",
            category="Sound components",
            labels={"model": "{model}"},
        ),
    log:
        "logs/render/components_{model}.log",
    conda:
        "../../envs/render.yaml"
    threads: 1
    params:
        settings=lambda wc: step_settings.card_figure(config, wc.model, "components"),
    script:
        "../scripts/card_figure.py"


rule render_source:
    input:
        data="results/data/{cond}.h5",
        relevance="results/relevance/{model}/{cond}.h5",
        selection="results/selection/{model}/{cond}.json",
    output:
        figure=report(
            page_file(names.source_figure("{model}", "{cond}", "{extreme}")),
            caption="../report/source_figure.rst",
            category="Feature inspection",
            subcategory="{cond}",
            labels={"model": "{model}", "source": "error_{extreme}", "file": "figure"},
        ),
        microphone_wav=report(
            page_file(
                names.source_audio("microphone", "{model}", "{cond}", "{extreme}")
            ),
            caption="../report/audio.rst",
            category="Feature inspection",
            subcategory="{cond}",
            labels={
                "model": "{model}",
                "source": "error_{extreme}",
                "file": "microphone audio",
            },
        ),
        relevance_wav=report(
            page_file(
                names.source_audio("relevance", "{model}", "{cond}", "{extreme}")
            ),
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
        settings=lambda wc: step_settings.render_source(
            config, wc.model, wc.cond, wc.extreme
        ),
    script:
        "../scripts/render_source.py"


rule page:
    input:
        datasets=expand("results/data/{cond}.h5", cond=conditions),
        localization="results/tables/localization.md",
        summaries=every_replicate(step_settings.summaries),
        tdoa="results/tables/tdoa.md",
        sanity_table="results/tables/sanity.md",
        sanity=step_settings.sanity_results(config),
        manipulation=step_settings.manipulation_results(config),
        tdoa_results=step_settings.tdoa_results(config),
        explanations=every_replicate(step_settings.explanation_results),
        explanations_table="results/tables/explanations.md",
        components_table="results/tables/components.md",
        input_checks=step_settings.input_check_results(config),
        figures=[
            page_file(f)
            for f in names.page_files(models, conditions, components=bool(simulated))
        ],
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
        settings=step_settings.page(config),
    script:
        "../scripts/build_page.py"
