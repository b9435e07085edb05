"""Issue 30: why do the authors' published SampleCNN checkpoints not localize on this workflow's data?

Evaluates the published checkpoints (`../shared/published/samplecnn/model_{cond}.pth`) on data made with the
paper's geometry (config/paper.yaml, W 5120), switching on one convention of the authors' generator
(lucacoma/XAISrcLoc generate_data.py / params.py / utils.py) at a time, then all of them together:

| variant | what it changes (the authors' convention) |
|---|---|
| `ours` | the project's simulation: pyroomacoustics, each image 1/d and 40 samples late (its 81-tap fractional |
|   | delay), inverse_sabine's image order, 10 Hz high-pass, signal cut to the utterance, espeak, silences trimmed |
| `no_lead` | the 40-sample lead removed (gpuRIR centres its windowed sinc on the arrival) |
| `level` | every RIR times 1/(4π): gpuRIR's 1/(4πd) spreading |
| `no_lead_level` | both: gpuRIR's amplitude and time convention |
| `cut_t60` | the RIR cut at T60 (gpuRIR's Tmax = T60) |
| `sabine_beta` | walls from gpuRIR.beta_SabineEstimation: absorption 0.161 V / (S T60) (pyroomacoustics: 24 ln10 / c) |
| `no_hpf` | pyroomacoustics' 10 Hz high-pass off (gpuRIR has none) |
| `image_box` | every image that arrives before T60 (gpuRIR's t2n box cut at Tmax), more than inverse_sabine's order |
| `full_conv` | full convolution (utterance + RIR tail), noise power from mic 0's whole signal, windows over it all |
| `offset` | windows start half a window later (the authors' start at 0, as ours: a sensitivity check) |
| `window_2560`, `window_1280` | shorter windows, the model built for them: SampleCNN's weights do not depend on W |
|   | (global average pools), and the authors' train_SampleCNN.py sets `window_size = 1280` |
| `stretch_1.5`, `stretch_2` | diagnostic: the microphone signals resampled by 3/2 and 2 (every delay that much longer |
|   | in samples, the spectrum that much lower): does the x compression follow the delays' scale? |
| `arctic` | the one CMU ARCTIC utterance, trimmed and peak-normalised as the project's wav corpora are |
| `arctic_untrimmed` | the same utterance as the authors used theirs: peak-normalised, silences kept |
| `authors` | all of the authors' conventions at once: sabine_beta + no_hpf + image_box + no_lead + level + |
|   | cut_t60 + full_conv + arctic_untrimmed |
| `authors_espeak` | `authors` with the espeak speech |
| `*_bn_matched` | diagnostic, not a convention: the input scaled so the first batch norm sees its training variance |

`sabine_beta`, `no_hpf` and `image_box` need their own pyroomacoustics run (about 9 s per source at T60 0.6 s on
one core), so they run alone at T60 0.15 s only; at every condition they run together inside `authors`.

For each: MAE (x, y, z) on test-square and training sources (every window of each source, at most `--max-windows`),
the mean-training-position baseline on the same windows, the slope of predicted against true x and y on the
training sources, and the input check (sslrp.explain.input_check) on the variant's test windows. Writes
`--out` (JSON, after each condition) and a Markdown table beside it. Single-threaded; run it under `nice`.

    nice -n 19 env OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python dev/published_study.py --out /tmp/study.json
"""

import argparse
import json
import math
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import scipy.signal
import soundfile
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))

from sslrp import config as configuration  # noqa: E402
from sslrp import seeding  # noqa: E402
from sslrp.data import acoustics, corpus, geometry  # noqa: E402
from sslrp.explain import input_check  # noqa: E402
from sslrp.localize import models  # noqa: E402

PUBLISHED = ROOT.parent / "shared" / "published"
UTTERANCE = "speech/arctic_a0007.wav"
PAPER_MAE = {"SNR_25_T60_0.15": 0.087, "SNR_20_T60_0.3": 0.097, "SNR_15_T60_0.4": 0.095, "SNR_10_T60_0.6": 0.111}
GPURIR_SABINE = 0.161  # gpuRIR.beta_SabineEstimation's Sabine constant (s/m)
SINGLE_RIR_VARIANTS = ("sabine_beta", "no_hpf", "image_box")  # own pyroomacoustics run: first condition only
AUTHORS = {"rir": "authors", "no_lead": True, "level": True, "cut": True, "full_conv": True, "speech": "arctic_raw"}
VARIANTS = {
    "ours": {},
    "no_lead": {"no_lead": True},
    "level": {"level": True},
    "no_lead_level": {"no_lead": True, "level": True},
    "cut_t60": {"cut": True},
    "sabine_beta": {"rir": "sabine_beta"},
    "no_hpf": {"rir": "no_hpf"},
    "image_box": {"rir": "image_box", "cut": True},
    "full_conv": {"full_conv": True},
    "offset": {"offset": 0.5},
    "arctic": {"speech": "arctic"},
    "arctic_untrimmed": {"speech": "arctic_raw"},
    "window_2560": {"window": 2560},
    "window_1280": {"window": 1280},
    "stretch_1.5": {"stretch": (3, 2)},
    "stretch_2": {"stretch": (2, 1)},
    "authors": AUTHORS,
    "authors_espeak": {**AUTHORS, "speech": "espeak"},
}
MATCHED = ("ours", "authors")  # variants also run with the first batch norm's variance matched


def shoebox_rirs(position, mics, geo, t60, absorption=None, max_order=None, hpf=True):
    """RIRs [M, L] from pyroomacoustics with the given energy absorption and image order (defaults: inverse_sabine's)
    and its high-pass on or off. Same assembly as sslrp.data.acoustics.room_rirs."""
    import pyroomacoustics as pra

    pra.constants.set("num_threads", 1)
    pra.constants.set("rir_hpf_enable", hpf)
    try:
        default_absorption, default_order = pra.inverse_sabine(t60, geo["room"])
        room = pra.ShoeBox(geo["room"], fs=geo["fs"], materials=pra.Material(absorption or default_absorption),
                           max_order=max_order or default_order)
        room.add_source(list(position))
        room.add_microphone_array(np.asarray(mics).T)
        room.compute_rir()
    finally:
        pra.constants.set("rir_hpf_enable", True)
    rirs = [room.rir[m][0] for m in range(len(mics))]
    out = np.zeros((len(rirs), max(map(len, rirs))))
    for m, rir in enumerate(rirs):
        out[m, : len(rir)] = rir
    return out


def gpurir_absorption(room, t60):
    """The energy absorption gpuRIR.beta_SabineEstimation gives all six walls (beta = sqrt(1 - alpha)):
    Sabine's T60 = 0.161 V / (S alpha) solved for alpha."""
    lx, ly, lz = room
    return GPURIR_SABINE * lx * ly * lz / (2 * (lx * ly + lx * lz + ly * lz) * t60)


def box_order(room, t60, position, mics, c=343.0):
    """An image order whose diamond holds every image arriving before T60: an image (kx, ky, kz) reflections away
    lies about |k_i| L_i away per axis, so all within c T60 + the source-mic distance have kx + ky + kz <=
    R sqrt(sum 1 / L_i^2) (Cauchy-Schwarz); +2 for the room's own offsets."""
    reach = c * t60 + np.linalg.norm(np.asarray(mics) - np.asarray(position), axis=1).max()
    return int(math.ceil(reach * math.sqrt(sum(1 / length**2 for length in room)))) + 2


def rirs_for(kind, position, mics, geo, t60):
    if kind == "ours":
        return acoustics.room_rirs(position, mics, geo["room"], geo["fs"], t60)
    if kind == "sabine_beta":
        return shoebox_rirs(position, mics, geo, t60, absorption=gpurir_absorption(geo["room"], t60))
    if kind == "no_hpf":
        return shoebox_rirs(position, mics, geo, t60, hpf=False)
    if kind == "image_box":
        return shoebox_rirs(position, mics, geo, t60, max_order=box_order(geo["room"], t60, position, mics))
    if kind == "authors":
        return shoebox_rirs(position, mics, geo, t60, absorption=gpurir_absorption(geo["room"], t60),
                            max_order=box_order(geo["room"], t60, position, mics), hpf=False)
    raise ValueError(kind)


def post_process(rirs, variant, t60, fs):
    """The RIR conventions applied after pyroomacoustics: lead removed, 1/(4π) level, cut at T60 (physical time)."""
    import pyroomacoustics as pra

    lead = pra.constants.get("frac_delay_length") // 2
    if variant.get("no_lead"):
        rirs, lead = rirs[:, lead:], 0
    if variant.get("level"):
        rirs = rirs / (4 * np.pi)
    if variant.get("cut"):
        rirs = rirs[:, : lead + int(round(t60 * fs))]
    return rirs


def signals_for(speech, rirs, variant, snr, noise_rng):
    if variant.get("full_conv"):
        clean = scipy.signal.fftconvolve(speech[None, :], rirs, axes=1)
    else:
        clean = acoustics.reverberant(speech, rirs)
    return acoustics.add_noise(clean, snr, noise_rng)


def windows_of(signals, window, offset, max_windows):
    start = int(round(offset * window))
    return acoustics.windows(signals[:, start:], window)[:max_windows]


def arctic(fs, trimmed):
    signal, file_fs = soundfile.read(PUBLISHED / UTTERANCE, dtype="float64")
    if trimmed:
        return corpus.prepare(signal, file_fs, fs, trim_db=40)
    if file_fs != fs:
        raise ValueError(f"{UTTERANCE}: {file_fs} Hz, expected {fs}")
    return (signal / np.abs(signal).max()).astype(np.float32)


def slope(true, pred):
    return float(np.polyfit(true, pred, 1)[0])


def evaluate(model, windows, positions, baseline):
    with torch.no_grad():
        pred = torch.cat([model(torch.as_tensor(windows[i:i + 64])) for i in range(0, len(windows), 64)]).numpy()
    err = np.abs(pred - positions)
    base = np.abs(baseline[None, :] - positions)
    return pred, {"mae": float(err.mean()), "mae_xyz": err.mean(axis=0).tolist(), "baseline": float(base.mean()),
                  "baseline_xyz": base.mean(axis=0).tolist()}


def run_condition(cond, condition, config, sources, picks, espeak, load_model, args, log):
    geo, fs, window = config["geometry"], config["geometry"]["fs"], config["signals"]["window"]
    mics = geometry.mic_positions(geo)
    baseline = sources.positions[sources.train].mean(axis=0)
    speech = {"espeak": None, "arctic": arctic(fs, True), "arctic_raw": arctic(fs, False)}
    log(f"ARCTIC utterance: {len(speech['arctic_raw'])} samples as the authors use it, {len(speech['arctic'])} "
        f"trimmed; espeak utterances {[len(u) for u in espeak]} samples")
    first = cond == args.conditions[0]
    variants = {name: v for name, v in VARIANTS.items()
                if (first or v.get("rir") not in SINGLE_RIR_VARIANTS) and (not args.only or name in args.only)}
    data = {name: {"test": ([], []), "train": ([], [])} for name in variants}
    started = time.time()
    for split, indices in picks.items():
        for k, index in enumerate(indices):
            position = sources.positions[index]
            rir_cache = {}
            for name, variant in variants.items():
                kind = variant.get("rir", "ours")
                if kind not in rir_cache:
                    rir_cache[kind] = rirs_for(kind, position, mics, geo, condition["t60"])
                rirs = post_process(rir_cache[kind], variant, condition["t60"], fs)
                kind_speech = variant.get("speech", "espeak")
                utterance = espeak[index % len(espeak)] if kind_speech == "espeak" else speech[kind_speech]
                signals = signals_for(utterance, rirs, variant, condition["snr"], seeding.rng(config["seed"],
                                                                                             "noise", index))
                if "stretch" in variant:
                    signals = scipy.signal.resample_poly(signals, *variant["stretch"], axis=1)
                length = variant.get("window", window)
                w = windows_of(signals, length, variant.get("offset", 0),
                               args.max_windows * window // length).astype(np.float32)
                data[name][split][0].append(w)
                data[name][split][1].append(np.repeat(position[None, :], len(w), axis=0))
            log(f"{cond} {split} {k + 1}/{len(indices)} ({time.time() - started:.0f} s)")
    out = {}
    for name, splits in data.items():
        model = load_model(variants[name].get("window", window))
        out[name] = _score(model, splits, baseline, args)
        if name in MATCHED:
            ratio = out[name]["input_check"]["layers"][0]["variance_ratio"]
            scale = 1 / math.sqrt(ratio)
            scaled = {s: ([w * scale for w in ws], ps) for s, (ws, ps) in splits.items()}
            out[f"{name}_bn_matched"] = {**_score(model, scaled, baseline, args), "input_scale": scale}
        log(f"{cond} {name}: test {out[name]['test']['mae']:.3f} train {out[name]['train']['mae']:.3f} "
            f"slope x {out[name]['slope_x']:.2f} y {out[name]['slope_y']:.2f} "
            f"L1 ratio {out[name]['input_check']['layers'][0]['variance_ratio']:.3g}")
    out["_seconds"] = time.time() - started
    return out


def _score(model, splits, baseline, args):
    result = {}
    preds = {}
    for split, (ws, ps) in splits.items():
        windows, positions = np.concatenate(ws), np.concatenate(ps)
        preds[split], result[split] = evaluate(model, windows, positions, baseline)
        result[split]["windows"] = int(len(windows))
        if split == "train":
            result["slope_x"] = slope(positions[:, 0], preds[split][:, 0])
            result["slope_y"] = slope(positions[:, 1], preds[split][:, 1])
            result["r_x"] = float(np.corrcoef(positions[:, 0], preds[split][:, 0])[0, 1])
            result["r_y"] = float(np.corrcoef(positions[:, 1], preds[split][:, 1])[0, 1])
    # The check on the test square's windows (as the workflow's step does) and on the training sources' windows:
    # the deep layers' statistics depend on how far apart the positions are, and the test square is small.
    for split, key in (("test", "input_check"), ("train", "input_check_train")):
        windows = np.concatenate(splits[split][0])
        subset = seeding.subset(args.check_windows, len(windows), args.seed, "input_check/subset")
        result[key] = input_check.check(model, windows[subset], tolerance=2.0, seed=args.seed)
        result[key + "_no_dropout"] = input_check.check(model, windows[subset], tolerance=2.0, dropout=False)
    return result


def table(results, conditions):
    head = ("| condition | variant | test MAE (x, y, z) [m] | baseline | train MAE (x, y, z) [m] | baseline | "
            "slope x / y (train) | input check: layer 1 ratio; first layer out, factor | "
            "last layer ratio: test / train |")
    lines = [head, "|" + "---|" * 9]
    for cond in conditions:
        for name, r in results.get(cond, {}).items():
            if name.startswith("_"):
                continue
            t, tr, ic = r["test"], r["train"], r["input_check"]
            first = f"{ic['first_index']} ({ic['first_layer']}), {ic['factor']:.3g}" if ic["first_layer"] else "none"
            train_check = r.get("input_check_train")
            last_train = f"{train_check['layers'][-1]['variance_ratio']:.3g}" if train_check else "–"
            lines.append(
                f"| {cond} (paper {PAPER_MAE.get(cond, float('nan')):.3f}) | {name} | {t['mae']:.3f} "
                f"({', '.join(f'{v:.3f}' for v in t['mae_xyz'])}) | {t['baseline']:.3f} | {tr['mae']:.3f} "
                f"({', '.join(f'{v:.3f}' for v in tr['mae_xyz'])}) | {tr['baseline']:.3f} | "
                f"{r['slope_x']:.2f} / {r['slope_y']:.2f} | {ic['layers'][0]['variance_ratio']:.3g}; {first} | "
                f"{ic['layers'][-1]['variance_ratio']:.3g} / {last_train} |")
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default=str(ROOT / "config" / "paper.yaml"))
    p.add_argument("--conditions", nargs="+", default=list(PAPER_MAE))
    p.add_argument("--test", type=int, nargs="+", default=[20, 12], help="test sources: first condition, others")
    p.add_argument("--train", type=int, nargs="+", default=[20, 12], help="training sources: first, others")
    p.add_argument("--max-windows", type=int, default=8, help="windows per source (from its start)")
    p.add_argument("--check-windows", type=int, default=96, help="test windows in the input check (seeded)")
    p.add_argument("--utterances", type=int, default=12, help="espeak utterances (the paper config's corpus)")
    p.add_argument("--only", nargs="*", help="run only these variants")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    torch.set_num_threads(1)
    config = configuration.load(args.config)
    args.seed = config["seed"]
    conditions = configuration.conditions(config)
    sources = geometry.sources(config["geometry"], config["seed"])
    espeak = [u.signal for u in corpus.load({**config["corpus"], "n_utterances": args.utterances},
                                            config["geometry"]["fs"], config["seed"])]
    out_path = Path(args.out)
    results = {"cpu": subprocess.run(["lscpu"], capture_output=True, text=True).stdout.split("Model name:")[1]
               .splitlines()[0].strip(), "torch": torch.__version__, "python": platform.python_version(),
               "args": {k: v for k, v in vars(args).items()}}

    def log(message):
        print(time.strftime("%H:%M:%S"), message, flush=True)

    for i, cond in enumerate(args.conditions):
        n_test, n_train = (args.test[0], args.train[0]) if i == 0 else (args.test[-1], args.train[-1])
        rng = seeding.rng(config["seed"], "published_study/sources", i)
        picks = {"test": np.sort(rng.choice(sources.test, n_test, replace=False)),
                 "train": np.sort(rng.choice(sources.train, n_train, replace=False))}
        def load_model(window, cond=cond):
            return models.load("sample_cnn", PUBLISHED / "samplecnn" / f"model_{cond}.pth", window,
                               config["geometry"]["array"]["n_mics"])

        results[cond] = run_condition(cond, conditions[cond], config, sources, picks, espeak, load_model, args, log)
        out_path.write_text(json.dumps(results, indent=1))
        out_path.with_suffix(".md").write_text(f"CPU: {results['cpu']}\n\n" + table(results, args.conditions))
    print(table(results, args.conditions))


if __name__ == "__main__":
    main()
