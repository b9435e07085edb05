"""Paper-scale simulation, measured and cut (issue 21, item 4): what one source costs to simulate with the paper's
settings, how shards scale, and what pyroomacoustics' own speed levers cost in accuracy.

Everything goes through the package's own simulation (`sslrp.data.acoustics`), on the paper's geometry, array
and window (`config/paper.yaml`: full image-source order, 16 mics, W 5120), with a small espeak corpus built here
(or the workflow's corpus with --corpus). Sources, utterances and noise are drawn from the config's seed as the
workflow draws them, so every run measures the same data. Three parts:

- `timing`: seconds per source (RIRs, convolution, noise, windows, measured T60: `acoustics.simulate_source`, what
  a shard job pays) for each T60, on one core (pyroomacoustics' RIR builder, BLAS and OpenMP at one thread), and
  the CPU-hours that rate projects for the paper's grid.
- `shards`: the same sources simulated by 1 or 2 processes (the workflow's shards), each with 1 or more
  pyroomacoustics threads: sources per second and speed-up. The workflow builds RIRs on one thread
  (`acoustics.room_rirs`); pyroomacoustics' own default is os.cpu_count() (it reads PRA_NUM_THREADS, not
  OMP_NUM_THREADS), which is why the workflow sets it.
- `levers`: each lever (`threads:N` pyroomacoustics' multi-threaded RIR construction; `fdl:N` a shorter fractional
  delay filter, default 81 taps; `hybrid:N` the hybrid simulator, image sources to order N then ray tracing;
  `cap:N` the image order capped at N, the config's `max_order`; `randism` the randomized image-source method)
  against full ISM on the same test sources: seconds per source (RIRs, plus the signals), whether the RIRs are
  bit-identical, the relative difference of the RIRs and of the stored windows, the measured T60 (mic 0, T20, as
  the dataset stores it), the direct-path delay (samples, sub-sample peak) and level (dB) at each microphone, and
  SRP-PHAT's MAE (`sslrp.localize.srp`, the config's candidate grid) on the test windows, with the share of
  windows whose estimate moved. A lever is "same data" when the windows differ by at most --tolerance (relative
  RMS) and no SRP-PHAT estimate moves.

    python dev/benchmark_simulation.py                               # all three parts, the defaults below
    python dev/benchmark_simulation.py --parts timing --t60 0.15 0.6 --n-sources 2
    python dev/benchmark_simulation.py --parts levers --lever-t60 0.6 --levers threads:2 hybrid:3 --lever-sources 4

Full measurements take minutes of CPU (T60 0.6 costs seconds per source); run them on an otherwise idle machine.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "PRA_NUM_THREADS"):
    os.environ[_var] = "1"  # one core: before numpy and pyroomacoustics size their thread pools

import argparse  # noqa: E402
import contextlib  # noqa: E402
import functools  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pyroomacoustics as pra  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow" / "scripts"))  # the sslrp package and the step scripts

from simulate_shard import utterance_for  # noqa: E402
from sslrp import config as configuration  # noqa: E402
from sslrp import metrics, seeding  # noqa: E402
from sslrp.data import acoustics, corpus, geometry  # noqa: E402
from sslrp.localize import srp  # noqa: E402

PARTS = ("timing", "shards", "levers")
LEVER_KINDS = ("threads", "fdl", "hybrid", "cap", "randism")
PEAK_SEARCH = 8  # samples either side of the geometric direct-path arrival searched for its peak


@dataclass
class Setup:
    """What every part needs: the paper's settings, the array, the grid's sources and the speech."""

    config: dict
    mics: np.ndarray  # [M, 3]
    sources: geometry.Sources
    speech: list  # clean utterances (float32), cut to signals.max_seconds

    @property
    def geometry(self):
        return self.config["geometry"]

    @property
    def seed(self):
        return self.config["seed"]

    @property
    def window(self):
        return self.config["signals"]["window"]

    def utterance(self, index):
        """(corpus index, signal) of the utterance source `index` speaks, drawn as simulate_shard draws it."""
        utterance = utterance_for(index, len(self.speech), self.seed)
        return utterance, self.speech[utterance]

    def condition(self, t60):
        """The config's simulated condition with reverberation time `t60` (max_order resolved)."""
        for settings in configuration.conditions(self.config).values():
            if np.isclose(settings.get("t60", np.nan), t60):
                return settings
        raise SystemExit(f"--t60 {t60}: the config has no condition with this T60")

    def pick(self, pool, n, purpose):
        """`n` sources of `pool` (grid indices), drawn from the seed for `purpose`, in grid order."""
        pool = np.asarray(pool)
        return np.sort(seeding.rng(self.seed, f"benchmark-{purpose}").choice(pool, min(n, len(pool)), replace=False))


def load_setup(config_path, corpus_path, n_utterances):
    """The config, its sources and `n_utterances` espeak utterances (or the corpus file `corpus_path`)."""
    config = configuration.load(config_path)
    geo, seed = config["geometry"], config["seed"]
    if corpus_path:
        utterances = corpus.read(corpus_path)
    else:
        utterances = corpus.load({**config["corpus"], "n_utterances": n_utterances}, geo["fs"], seed)
    seconds = config["signals"]["max_seconds"]
    cut = int(seconds * geo["fs"]) if seconds else None
    speech = [u.signal[:cut] for u in utterances]
    return Setup(config, geometry.mic_positions(geo), geometry.sources(geo, seed), speech)


@contextlib.contextmanager
def pra_constants(**values):
    """Set pyroomacoustics constants (num_threads, frac_delay_length, ...) for the block, then restore them."""
    old = {name: pra.constants.get(name) for name in values}
    for name, value in values.items():
        pra.constants.set(name, value)
    try:
        yield
    finally:
        for name, value in old.items():
            pra.constants.set(name, value)


def timed(function, *args, **kwargs):
    """(result, seconds) of one call."""
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


# ---------------------------------------------------------------------------------------------------- timing


def time_condition(setup, t60, n_sources):
    """Seconds per source of `acoustics.simulate_source` at `t60` on one thread, over `n_sources` grid sources."""
    condition = setup.condition(t60)
    indices = setup.pick(np.arange(len(setup.sources.positions)), n_sources, f"timing-{t60}")
    seconds, rt60, n_windows, lengths = [], [], [], []
    with pra_constants(num_threads=1):
        warm_up(setup.mics, setup.geometry, setup.window, setup.seed, setup.speech[0])
        for index in indices:
            utterance, speech = setup.utterance(index)
            recording, took = timed(acoustics.simulate_source, index, setup.sources.positions[index], speech,
                                    utterance, setup.mics, condition, setup.geometry, setup.window, setup.seed)
            seconds.append(took)
            rt60.append(recording.rt60)
            n_windows.append(len(recording.windows))
            lengths.append(len(speech) / setup.geometry["fs"])
    order = pra.inverse_sabine(t60, setup.geometry["room"])[1]
    if condition.get("max_order") is not None:
        order = min(order, condition["max_order"])
    return {"t60": t60, "snr": condition["snr"], "order": int(order), "n_sources": len(indices),
            "seconds": seconds, "rt60_measured": float(np.nanmedian(rt60)),
            "windows_per_source": float(np.mean(n_windows)), "utterance_seconds": float(np.mean(lengths))}


def timing_table(rows, n_grid):
    """Markdown table of the timing part, with the projection to the paper's grid (`n_grid` sources per T60)."""
    lines = ["| T60 [s] | SNR [dB] | image order | sources | s/source mean | min-max | measured T60 (median) | "
             "utterance [s] | windows/source | CPU-h for the grid |", "|" + "---|" * 10]
    for r in rows:
        s = np.asarray(r["seconds"])
        lines.append(f"| {r['t60']} | {r['snr']} | {r['order']} | {r['n_sources']} | {s.mean():.2f} | "
                     f"{s.min():.2f}-{s.max():.2f} | {r['rt60_measured']:.3f} | {r['utterance_seconds']:.2f} | "
                     f"{r['windows_per_source']:.1f} | {s.mean() * n_grid / 3600:.2f} |")
    total = sum(np.mean(r["seconds"]) for r in rows) * n_grid / 3600
    lines.append(f"\nAll {len(rows)} conditions: {total:.2f} CPU-hours for {n_grid} sources each, one core.")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------- shards


_BARRIER = None  # a shard process's start line, shared by all shards of one run (set by start_shard)


def start_shard(barrier):
    """Shard process initializer: keep the run's barrier."""
    global _BARRIER
    _BARRIER = barrier


def warm_up(mics, geo, window, seed, speech):
    """One cheap simulation (image order 1), so that one-time costs (imports, pyroomacoustics' first room) fall
    outside the timings."""
    acoustics.simulate_source(0, np.mean(mics, axis=0) - [0, 1, 0], speech, 0, mics, {"t60": 0.3, "snr": 20,
                              "max_order": 1}, geo, window, seed)


def shard_worker(job):
    """Simulate a shard's sources (one process, `pra_threads` RIR threads); (start, end) wall-clock times, from
    when every shard is warmed up and ready."""
    original = acoustics.room_rirs  # the workflow builds RIRs on one thread; this process on pra_threads
    acoustics.room_rirs = functools.partial(original, threads=job["pra_threads"])
    warm_up(job["mics"], job["geometry"], job["window"], job["seed"], job["items"][0][2])
    _BARRIER.wait()
    start = time.time()
    for index, position, speech, utterance in job["items"]:
        acoustics.simulate_source(index, position, speech, utterance, job["mics"], job["condition"],
                                  job["geometry"], job["window"], job["seed"])
    return start, time.time()


def run_shards(setup, t60, indices, n_shards, pra_threads):
    """Wall time of `n_shards` processes simulating `indices` (interleaved, as the workflow shards), from the
    common start (process start-up and warm-up excluded) to the last shard's end."""
    condition = setup.condition(t60)
    items = [(int(i), setup.sources.positions[i], setup.utterance(i)[1], setup.utterance(i)[0]) for i in indices]
    jobs = [{"items": [items[k] for k in geometry.shard_indices(len(items), shard, n_shards)],
             "pra_threads": pra_threads, "mics": setup.mics, "condition": condition, "geometry": setup.geometry,
             "window": setup.window, "seed": setup.seed} for shard in range(n_shards)]
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(n_shards)
    with ProcessPoolExecutor(n_shards, mp_context=context, initializer=start_shard, initargs=(barrier,)) as pool:
        spans = list(pool.map(shard_worker, jobs))
    return max(end for _, end in spans) - min(start for start, _ in spans)


def shard_scaling(setup, t60, n_sources, configs):
    """Rows of (shards, threads per shard, wall seconds) for each `configs` entry "SxT", same sources each."""
    indices = setup.pick(np.arange(len(setup.sources.positions)), n_sources, f"shards-{t60}")
    rows = []
    for spec in configs:
        n_shards, threads = (int(v) for v in spec.split("x"))
        wall = run_shards(setup, t60, indices, n_shards, threads)
        rows.append({"t60": t60, "shards": n_shards, "pra_threads": threads, "n_sources": len(indices),
                     "wall": wall})
    return rows


def shard_table(rows):
    """Markdown table of the shard part; speed-up against the first row."""
    lines = ["| T60 [s] | shards | pyroomacoustics threads per shard | sources | wall [s] | sources/s | "
             "s/source (wall) | speed-up |", "|" + "---|" * 8]
    for r in rows:
        lines.append(f"| {r['t60']} | {r['shards']} | {r['pra_threads']} | {r['n_sources']} | {r['wall']:.1f} | "
                     f"{r['n_sources'] / r['wall']:.3f} | {r['wall'] / r['n_sources']:.2f} | "
                     f"{rows[0]['wall'] / r['wall']:.2f}x |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------- levers


def parse_lever(spec):
    """("kind", value) of a lever "kind:value" (value None for randism); ValueError when malformed."""
    kind, _, value = spec.partition(":")
    if kind not in LEVER_KINDS or (kind != "randism") != value.isdigit():
        raise ValueError(f"--levers: {spec!r} is not one of threads:N, fdl:N, hybrid:N, cap:N, randism")
    return kind, int(value) if value else None


def stacked(room, n_mics):
    """The room's RIRs (source 0) zero-padded to one length: [M, L], as acoustics.room_rirs returns them."""
    rirs = [room.rir[m][0] for m in range(n_mics)]
    out = np.zeros((n_mics, max(map(len, rirs))))
    for m, rir in enumerate(rirs):
        out[m, : len(rir)] = rir
    return out


def shoebox_rirs(position, mics, geo, t60, max_order=None, seed=None, **room_options):
    """RIRs built as acoustics.room_rirs builds them, with ShoeBox options it does not take (ray_tracing,
    use_rand_ism); `seed` seeds pyroomacoustics' random generators (ray tracing, randomized images)."""
    absorption, order = pra.inverse_sabine(t60, geo["room"])
    if max_order is not None:
        order = min(order, max_order)
    if seed is not None:
        pra.random.seed(numpy=int(seed))
    room = pra.ShoeBox(geo["room"], fs=geo["fs"], materials=pra.Material(absorption), max_order=order,
                       **room_options)
    room.add_source(list(position))
    room.add_microphone_array(np.asarray(mics).T)
    room.compute_rir()
    return stacked(room, len(mics))


def lever_rirs(lever, position, mics, geo, t60, seed):
    """(RIRs, fractional delay length) of one lever; `lever` None is the paper's full ISM on one thread."""
    kind, value = lever if lever else (None, None)
    constants = {"num_threads": value if kind == "threads" else 1,
                 "frac_delay_length": value if kind == "fdl" else pra.constants.get("frac_delay_length")}
    with pra_constants(**constants):
        if kind == "hybrid":
            rirs = shoebox_rirs(position, mics, geo, t60, max_order=value, seed=seed, ray_tracing=True)
        elif kind == "randism":
            rirs = shoebox_rirs(position, mics, geo, t60, seed=seed, use_rand_ism=True)
        else:
            rirs = acoustics.room_rirs(position, mics, geo["room"], geo["fs"], t60, value if kind == "cap" else None)
    return rirs, constants["frac_delay_length"]


def source_windows(speech, rirs, condition, index, seed, window):
    """The windows the dataset stores for these RIRs (acoustics.simulate_source's signal path)."""
    signals = acoustics.add_noise(acoustics.reverberant(speech, rirs), condition["snr"],
                                  seeding.rng(seed, "noise", index))
    return acoustics.windows(signals, window).astype(np.float32)


def direct_path(rirs, position, mics, fs, fdl):
    """Per microphone: the direct-path peak's delay from its geometric arrival (samples; parabolic sub-sample
    peak of |rir| near distance * fs / c + fdl // 2, where pyroomacoustics centres its fractional delay filters)
    and its level (dB re 1)."""
    distance = np.linalg.norm(np.asarray(mics) - np.asarray(position), axis=1)
    expected = distance * fs / geometry.SIMULATION_SOUND_SPEED + fdl // 2
    delay, level = np.empty(len(mics)), np.empty(len(mics))
    for m, rir in enumerate(np.abs(rirs)):
        lo = int(np.floor(expected[m])) - PEAK_SEARCH
        k = lo + int(np.argmax(rir[lo : lo + 2 * PEAK_SEARCH + 1]))
        a, b, c = rir[k - 1 : k + 2]
        shift = 0.5 * (a - c) / (a - 2 * b + c) if a - 2 * b + c != 0 else 0.0
        delay[m] = k + shift - expected[m]
        level[m] = 20 * np.log10(b - 0.25 * (a - c) * shift)
    return delay, level


def relative_difference(a, b):
    """||a - b|| / ||b|| after zero-padding both to one length along the last axis."""
    n = max(a.shape[-1], b.shape[-1])
    a = np.pad(a, [(0, 0)] * (a.ndim - 1) + [(0, n - a.shape[-1])])
    b = np.pad(b, [(0, 0)] * (b.ndim - 1) + [(0, n - b.shape[-1])])
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def measure_variant(setup, lever, index, condition, speech, candidates):
    """Everything the lever table compares, for one source and one lever (None: full ISM)."""
    geo, position = setup.geometry, setup.sources.positions[index]
    seed = seeding.rng(setup.seed, "benchmark-pra", index).integers(2**31)
    (rirs, fdl), rir_seconds = timed(lever_rirs, lever, position, setup.mics, geo, condition["t60"], seed)
    windows, signal_seconds = timed(source_windows, speech, rirs, condition, index, setup.seed, setup.window)
    delay, level = direct_path(rirs, position, setup.mics, geo["fs"], fdl)
    pred = srp.srp_phat_localize(windows, setup.mics, geo["fs"], geo["sound_speed"], candidates)
    return {"rirs": rirs, "fdl": fdl, "windows": windows, "rir_seconds": rir_seconds, "signal_seconds": signal_seconds,
            "rt60": acoustics.measured_rt60(rirs[0], geo["fs"]), "delay": delay, "level": level, "pred": pred}


def compare(variant, full):
    """The lever's differences from full ISM on one source (the heavy arrays are dropped). The RIRs are compared
    aligned: a shorter fractional delay filter moves every arrival earlier by the difference of the half lengths
    (the windows are compared as the dataset would store them, unaligned)."""
    same_shape = variant["rirs"].shape == full["rirs"].shape
    lag = full["fdl"] // 2 - variant["fdl"] // 2
    aligned = np.pad(variant["rirs"], ((0, 0), (lag, 0))) if lag > 0 else variant["rirs"][:, -lag:]
    return {"rir_seconds": variant["rir_seconds"], "signal_seconds": variant["signal_seconds"],
            "identical": bool(same_shape and np.array_equal(variant["rirs"], full["rirs"])),
            "rir_diff": relative_difference(aligned, full["rirs"]),
            "window_diff": relative_difference(variant["windows"], full["windows"]),
            "rt60": variant["rt60"], "rt60_full": full["rt60"],
            "delay_diff": float(np.max(np.abs(variant["delay"] - full["delay"]))),
            "level_diff": float(np.max(np.abs(variant["level"] - full["level"]))),
            "delay_vs_geometry": float(np.max(np.abs(variant["delay"]))),
            "pred": variant["pred"], "moved": int(np.sum(np.any(variant["pred"] != full["pred"], axis=1)))}


def self_check(setup, condition, index):
    """The benchmark's own paths equal the package's: shoebox_rirs without options is acoustics.room_rirs, and
    source_windows gives simulate_source's windows (for `condition` uncapped: full ISM)."""
    geo, position, t60 = setup.geometry, setup.sources.positions[index], condition["t60"]
    utterance, speech = setup.utterance(index)
    with pra_constants(num_threads=1):
        ours = shoebox_rirs(position, setup.mics, geo, t60)
        theirs = acoustics.room_rirs(position, setup.mics, geo["room"], geo["fs"], t60)
        recording = acoustics.simulate_source(index, position, speech, utterance, setup.mics, condition, geo,
                                              setup.window, setup.seed)
    same = np.array_equal(ours, theirs) and np.array_equal(
        source_windows(speech, theirs, condition, index, setup.seed, setup.window), recording.windows)
    if not same:
        raise SystemExit("self-check failed: the benchmark's room or signal path differs from the package's")


def lever_condition(setup, t60, n_sources, levers):
    """Full ISM and every lever on `n_sources` test sources at `t60`: per lever, the per-source comparisons."""
    condition = {**setup.condition(t60), "max_order": None}  # the reference is full ISM whatever the config caps
    candidates = srp.candidate_grid(setup.geometry, tuple(setup.config["srp"]["grid"]), setup.config["srp"]["height"])
    indices = setup.pick(setup.sources.test, n_sources, f"levers-{t60}")
    self_check(setup, condition, indices[0])
    results = {"full": [], **{spec: [] for spec in levers}}
    truth = []
    for index in indices:
        speech = setup.utterance(index)[1]
        full = measure_variant(setup, None, index, condition, speech, candidates)
        results["full"].append(compare(full, full))
        for spec, lever in levers.items():
            results[spec].append(compare(measure_variant(setup, lever, index, condition, speech, candidates), full))
        truth.append(np.repeat(setup.sources.positions[index][None], len(full["windows"]), axis=0))
    return {"t60": t60, "n_sources": len(indices), "truth": np.concatenate(truth), "results": results}


def summarize(rows, truth, full_seconds, tolerance):
    """One table row's numbers from the per-source comparisons of one lever."""
    seconds = np.mean([r["rir_seconds"] + r["signal_seconds"] for r in rows])
    pred = np.concatenate([r["pred"] for r in rows])
    window_diff = max(r["window_diff"] for r in rows)
    moved = sum(r["moved"] for r in rows)
    return {"rir_seconds": float(np.mean([r["rir_seconds"] for r in rows])), "seconds": float(seconds),
            "speedup": full_seconds / seconds, "identical": all(r["identical"] for r in rows),
            "rir_diff": max(r["rir_diff"] for r in rows), "window_diff": window_diff,
            "rt60": float(np.nanmean([r["rt60"] for r in rows])),
            "rt60_diff": float(np.nanmax([abs(r["rt60"] - r["rt60_full"]) for r in rows])),
            "delay_diff": max(r["delay_diff"] for r in rows), "level_diff": max(r["level_diff"] for r in rows),
            "delay_vs_geometry": max(r["delay_vs_geometry"] for r in rows),
            "mae": metrics.mae(pred, truth), "moved": moved / len(pred),
            "same": bool(window_diff <= tolerance and moved == 0)}


def lever_table(conditions, tolerance):
    """Markdown table of the lever part (one row per T60 and lever, full ISM first) and the summaries."""
    lines = ["| T60 [s] | lever | RIR s/source | +signals s/source | speed-up | bit-identical | RIR rel. diff | "
             "window rel. diff | measured T60 mean [s] | max abs dT60 [s] | max abs d delay [samples] | "
             "max abs d level [dB] | SRP-PHAT MAE [m] | estimates moved | same data |", "|" + "---|" * 15]
    summaries = []
    for cond in conditions:
        full_seconds = np.mean([r["rir_seconds"] + r["signal_seconds"] for r in cond["results"]["full"]])
        for spec, rows in cond["results"].items():
            s = summarize(rows, cond["truth"], full_seconds, tolerance)
            summaries.append({"t60": cond["t60"], "lever": spec, "n_sources": cond["n_sources"], **s})
            delay = f"{s['delay_vs_geometry']:.3f} (vs geometry)" if spec == "full" else f"{s['delay_diff']:.2g}"
            lines.append(
                f"| {cond['t60']} | {spec} | {s['rir_seconds']:.3f} | {s['seconds']:.3f} | {s['speedup']:.2f}x | "
                f"{'yes' if s['identical'] else 'no'} | {s['rir_diff']:.2g} | {s['window_diff']:.2g} | "
                f"{s['rt60']:.3f} | {s['rt60_diff']:.3f} | {delay} | {s['level_diff']:.2g} | {s['mae']:.4f} | "
                f"{100 * s['moved']:.1f} % | {'yes' if s['same'] else 'no'} |")
    return "\n".join(lines), summaries


# ---------------------------------------------------------------------------------------------------- main


def machine():
    """One line naming the CPU, the core count and the load when the run started."""
    model = platform.processor() or "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return f"{model}, {os.cpu_count()} cores, load average {load}, pyroomacoustics {pra.__version__}"


def run(args):
    """Run the chosen parts, print their tables, and write the raw numbers to --json when given."""
    started = time.perf_counter()
    setup = load_setup(args.config, args.corpus, args.n_utterances)
    print(f"# Simulation benchmark ({args.config}, seed {setup.seed}, W {setup.window}, {len(setup.mics)} mics)\n")
    print(f"Machine: {machine()}\n")
    out = {"machine": machine(), "args": vars(args)}
    if "timing" in args.parts:
        rows = [time_condition(setup, t60, args.n_sources) for t60 in args.t60]
        print("## Seconds per source, one core (acoustics.simulate_source)\n")
        print(timing_table(rows, len(setup.sources.positions)) + "\n")
        out["timing"] = rows
    if "shards" in args.parts:
        rows = shard_scaling(setup, args.shard_t60, args.shard_sources, args.shard_configs)
        print(f"## Shard scaling ({os.cpu_count()} cores)\n")
        print(shard_table(rows) + "\n")
        out["shards"] = rows
    if "levers" in args.parts:
        levers = {spec: parse_lever(spec) for spec in args.levers}
        conditions = [lever_condition(setup, t60, args.lever_sources, levers) for t60 in args.lever_t60]
        table, summaries = lever_table(conditions, args.tolerance)
        print(f"## Levers against full ISM, test sources (same data: windows within {args.tolerance:g} relative "
              "RMS and no SRP-PHAT estimate moved)\n")
        print(table + "\n")
        out["levers"] = summaries
    print(f"Load average at the end: {', '.join(f'{v:.2f}' for v in os.getloadavg())}; "
          f"{time.perf_counter() - started:.0f} s in all")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=float))


def cli():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default=str(REPO / "config" / "paper.yaml"), help="the paper's settings")
    p.add_argument("--corpus", help="a corpus HDF5 from the workflow (default: synthesize --n-utterances here)")
    p.add_argument("--n-utterances", type=int, default=16, help="espeak utterances synthesized (no --corpus)")
    p.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    p.add_argument("--t60", type=float, nargs="+", default=[0.15, 0.3, 0.4, 0.6], help="timing: T60 values")
    p.add_argument("--n-sources", type=int, default=6, help="timing: sources per T60")
    p.add_argument("--shard-t60", type=float, default=0.6, help="shards: the T60 simulated")
    p.add_argument("--shard-sources", type=int, default=6, help="shards: sources, split over the shards")
    p.add_argument("--shard-configs", nargs="+", default=["1x1", "1x2", "2x1", "2x2"],
                   help="shards: SHARDSxTHREADS (processes x pyroomacoustics threads each); the first is the base")
    p.add_argument("--levers", nargs="+", default=["threads:2", "fdl:41", "hybrid:3", "hybrid:10", "cap:40"],
                   help="levers: threads:N, fdl:N, hybrid:N, cap:N, randism")
    p.add_argument("--lever-t60", type=float, nargs="+", default=[0.15, 0.6], help="levers: T60 values")
    p.add_argument("--lever-sources", type=int, default=16, help="levers: test sources per T60")
    p.add_argument("--tolerance", type=float, default=1e-4, help="levers: windows' relative RMS difference")
    p.add_argument("--json", help="also write the raw numbers here")
    args = p.parse_args()
    try:
        for spec in args.levers:
            parse_lever(spec)
    except ValueError as err:
        p.error(str(err))
    run(args)


if __name__ == "__main__":
    cli()
