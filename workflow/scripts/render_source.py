"""Render one selected source (best or worst) of a model x condition: the signal/STFT/GCC-PHAT figure of
microphone vs. relevance signal, and both signals as 16 kHz WAV files."""

import json
from pathlib import Path

from sslrp import names, step_settings, steps
from sslrp.data import dataset
from sslrp.report import plots


def run(data, relevance, selection, figure, microphone_wav, relevance_wav, model_name, cond, extreme, pair,
        log=None):
    """Render the `extreme` ("min": best, "max": worst) source of the `selection` JSON: its `figure` and its
    microphone and relevance signals (from `data` and the `relevance` file) as WAV files."""
    log = steps.logger(log)
    test = dataset.read_split(data, "test")
    fs = dataset.read_attrs(data)["fs"]
    maps = dataset.read_relevance(relevance, test)
    pick = json.loads(open(selection).read())[extreme]
    source = pick["source"]
    mic, partner = (test.signal(source, m) for m in pair)
    rel, rel_partner = (test.signal(source, m, maps) for m in pair)
    title = (f"{names.model_label(model_name)}, {names.condition_label(cond)}: {names.EXTREME_LABELS[extreme]} "
             f"source {pick['source_index']} at ({', '.join(f'{v:.2f}' for v in pick['position'])}) m, "
             f"mean error {pick['euclidean_error']:.3f} m")
    plots.save_figure(plots.source_figure(mic, rel, partner, rel_partner, fs, title, pair=pair), figure)
    plots.write_wav(microphone_wav, mic, fs)
    plots.write_wav(relevance_wav, rel, fs)
    log.info(f"{title}; {len(mic) / fs:.2f} s of audio")


def cli():
    p = steps.model_parser(__doc__, checkpoint=False)
    p.add_argument("--extreme", required=True, choices=names.EXTREMES)
    p.add_argument("--relevance", required=True)
    p.add_argument("--selection", required=True)
    p.add_argument("--outdir", required=True, help="folder for the figure and the two WAV files")
    args = p.parse_args()
    config = steps.load_config(args.config)
    files = (names.source_figure(args.model, args.cond, args.extreme),
             *(names.source_audio(kind, args.model, args.cond, args.extreme) for kind in names.AUDIO_KINDS))
    run(args.data, args.relevance, args.selection, *(Path(args.outdir) / Path(f).name for f in files),
        **step_settings.render_source(config, args.model, args.cond, args.extreme), log=args.log)


if "snakemake" in globals():
    run(**steps.snakemake_args(snakemake))
elif __name__ == "__main__":
    cli()
