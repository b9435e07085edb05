"""Render one selected source (best or worst) of a model x condition: the signal/STFT/GCC-PHAT figure of
microphone vs. relevance signal, and both signals as 16 kHz WAV files."""

import json

from sslrp import dataset, names, plots, steps


def run(data, relevance_path, selection, figure_png, mic_wav, relevance_wav, model_name, cond, extreme, pair,
        log=None):
    log = steps.logger(log)
    test = dataset.read_split(data, "test")
    fs = dataset.read_attrs(data)["fs"]
    relevance = dataset.read_relevance(relevance_path, test)
    pick = json.loads(open(selection).read())[extreme]
    source = pick["source"]
    mic, partner = (test.signal(source, m) for m in pair)
    rel, rel_partner = (test.signal(source, m, relevance) for m in pair)
    label = "best" if extreme == "min" else "worst"
    title = (f"{names.MODEL_LABELS[model_name]}, {plots.condition_label(cond)}: {label} source "
             f"{pick['source_index']} at ({', '.join(f'{v:.2f}' for v in pick['position'])}) m, "
             f"mean error {pick['euclidean_error']:.3f} m")
    plots.save_figure(plots.source_figure(mic, rel, partner, rel_partner, fs, title, pair=pair), figure_png)
    plots.write_wav(mic_wav, mic, fs)
    plots.write_wav(relevance_wav, rel, fs)
    log.info(f"{title}; {len(mic) / fs:.2f} s of audio")


def cli():
    p = steps.model_parser(__doc__, checkpoint=False)
    p.add_argument("--extreme", required=True, choices=("min", "max"))
    p.add_argument("--relevance", required=True)
    p.add_argument("--selection", required=True)
    p.add_argument("--outdir", required=True)
    args = p.parse_args()
    config = steps.load_config(args.config)
    stem = f"{args.model}_{args.cond}_error_{args.extreme}"
    run(args.data, args.relevance, args.selection, f"{args.outdir}/ex_gcc_relevance_{stem}.png",
        f"{args.outdir}/audio_microphone_{stem}.wav", f"{args.outdir}/audio_relevance_{stem}.wav",
        args.model, args.cond, args.extreme, config["tdoa"]["pair"], args.log)


if "snakemake" in globals():
    run(*snakemake.input, *snakemake.output, **snakemake.params, log=snakemake.log[0])
elif __name__ == "__main__":
    cli()
