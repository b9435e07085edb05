"""Speech corpora behind one interface: `load(corpus_config, fs, seed)` -> list of `Utterance`.

Kinds:
- `espeak`: offline English sentences synthesized with espeak-ng (shipped by the PyPI package
  `espeakng-loader`), voice, rate and pitch varied per utterance from the seed. The default: it needs no
  data and no network.
- `wav_dir`: every WAV/FLAC file under a folder (first channel), resampled to fs.
- `cmu_arctic`: a local CMU ARCTIC copy (pyroomacoustics' layout), downloaded by pyroomacoustics only when
  `download: true` and the machine is online.
"""

import ctypes
import shutil
import tempfile
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import h5py
import numpy as np
import scipy.signal
import soundfile

from .. import seeding
from ..io import atomic_path, rebuild_advice, write_array

KINDS = ("espeak", "wav_dir", "cmu_arctic")

# Harvard sentences (IEEE 1969 recommended practice for speech quality measurements; public domain).
SENTENCES = (
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.",
    "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.",
    "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.",
    "A large size in stockings is hard to sell.",
    "The boy was there when the sun rose.",
    "A rod is used to catch pink salmon.",
    "The source of the huge river is the clear spring.",
    "Kick the ball straight and follow through.",
    "Help the woman get back to her feet.",
    "A pot of tea helps to pass the evening.",
    "Smoky fires lack flame and heat.",
    "The soft cushion broke the man's fall.",
    "The salt breeze came across from the sea.",
    "The girl at the booth sold fifty bonds.",
    "The small pup gnawed a hole in the sock.",
    "The fish twisted and turned on the bent hook.",
    "Press the pants and sew a button on the vest.",
    "The swan dive was far short of perfect.",
    "The beauty of the view stunned the young boy.",
    "Two blue fish swam in the tank.",
    "Her purse was full of useless trash.",
    "The colt reared and threw the tall rider.",
    "It snowed, rained, and hailed the same morning.",
    "Read verse out loud for pleasure.",
    "Hoist the load to your left shoulder.",
    "Take the winding path to reach the lake.",
    "Note closely the size of the gas tank.",
    "Wipe the grease off his dirty face.",
    "Mend the coat before you go out.",
    "The wrist was badly strained and hung limp.",
    "The stray cat gave birth to kittens.",
    "The young girl gave no clear response.",
    "The meal was cooked before the bell rang.",
    "What joy there is in living.",
)


@dataclass(frozen=True)
class Utterance:
    """One clean speech signal (float32, peak 1, at the corpus sample rate) and where it came from."""

    signal: np.ndarray
    label: str


class CorpusError(ValueError):
    """A corpus cannot be built from the given settings; the message names the key or path."""


def load(corpus, fs, seed):
    """Build the corpus described by the `corpus` config section, resampled to `fs`."""
    kind = corpus["kind"]
    if kind == "espeak":
        utterances = _espeak(corpus, fs, seed)
    elif kind == "wav_dir":
        utterances = _wav_dir(Path(_required_path(corpus)), fs, "*")
    elif kind == "cmu_arctic":
        utterances = _cmu_arctic(corpus, fs)
    else:
        raise CorpusError(f"corpus.kind: unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    limit = corpus.get("max_utterances")
    return utterances[:limit] if limit else utterances


def prepare(signal, fs_in, fs, trim_db):
    """Resample to fs, trim leading/trailing parts quieter than `trim_db` below the peak, peak-normalise."""
    signal = np.asarray(signal, dtype=np.float64)
    if fs_in != fs:
        ratio = Fraction(fs, fs_in).limit_denominator(1000)
        signal = scipy.signal.resample_poly(signal, ratio.numerator, ratio.denominator)
    loud = np.flatnonzero(np.abs(signal) > np.abs(signal).max() * 10 ** (-trim_db / 20))
    signal = signal[loud[0] : loud[-1] + 1]
    return (signal / np.abs(signal).max()).astype(np.float32)


def _required_path(corpus):
    path = corpus.get("path")
    if not path:
        raise CorpusError(f"corpus.path: required for corpus.kind {corpus['kind']!r}")
    if not Path(path).is_dir():
        raise CorpusError(f"corpus.path: {path!r} is not a folder")
    return path


def _wav_dir(folder, fs, pattern, trim_db=40):
    files = sorted(p for p in folder.rglob(pattern) if p.suffix.lower() in (".wav", ".flac"))
    if not files:
        raise CorpusError(f"corpus.path: no .wav or .flac files under {str(folder)!r}")
    utterances = []
    for path in files:
        try:
            signal, fs_in = soundfile.read(path, dtype="float64", always_2d=True)
        except (soundfile.LibsndfileError, RuntimeError, TypeError) as err:
            raise CorpusError(f"{path}: cannot be read as audio ({err}); convert it to WAV or FLAC, or remove it "
                              f"from corpus.path {str(folder)!r}") from err
        if not np.isfinite(signal[:, 0]).all():
            raise CorpusError(f"{path}: holds NaN or infinite samples; fix or remove it from corpus.path "
                              f"{str(folder)!r}")
        if not np.any(signal[:, 0]):
            continue  # silent files carry no localization cue
        utterances.append(Utterance(prepare(signal[:, 0], fs_in, fs, trim_db), str(path.relative_to(folder))))
    if not utterances:
        raise CorpusError(f"corpus.path: all {len(files)} audio files under {str(folder)!r} are silent (every "
                          "sample of their first channel is zero), so there is no speech to simulate; put "
                          "recordings of speech there (silent files are skipped)")
    return utterances


def _cmu_arctic(corpus, fs):
    path = corpus.get("path")
    if path and Path(path).is_dir() and any(Path(path).rglob("*.wav")):
        return _wav_dir(Path(path), fs, "*")
    if not corpus.get("download"):
        raise CorpusError(
            f"corpus.path: no CMU ARCTIC copy at {path!r}; give a local copy, or set corpus.download: true "
            "on a machine with internet access (pyroomacoustics downloads it)"
        )
    import pyroomacoustics as pra

    target = path or "results/corpus/cmu_arctic"
    try:
        pra.datasets.CMUArcticCorpus(basedir=target, download=True, speaker=corpus.get("speakers"))
    except OSError as err:  # URLError is an OSError: the machine is offline
        raise CorpusError(f"corpus.download: could not download CMU ARCTIC into {target!r}: {err}") from err
    return _wav_dir(Path(target), fs, "*")


class _Espeak:
    """Minimal ctypes binding of espeak-ng's synchronous synthesis API (no Python binding ships with it)."""

    _lock = threading.Lock()
    _CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)
    RATE, PITCH = 1, 3  # espeak_PARAMETER values

    def __init__(self):
        import espeakng_loader

        # espeak-ng keeps synthesis state in C statics (e.g. the pitch-flutter phase) that survive
        # espeak_Initialize, so a second corpus in the same process would come out different. A private
        # copy of the library starts from the same state as a fresh process: the corpus depends on the seed only.
        with tempfile.TemporaryDirectory() as tmp:
            private = Path(tmp) / Path(espeakng_loader.get_library_path()).name
            shutil.copy(espeakng_loader.get_library_path(), private)
            self.lib = ctypes.CDLL(str(private))
        data = espeakng_loader.get_data_path().encode()
        self.fs = self.lib.espeak_Initialize(2, 0, data, 0)  # 2 = AUDIO_OUTPUT_SYNCHRONOUS
        if self.fs <= 0:
            raise CorpusError(f"corpus.kind: espeak-ng failed to initialise (data at {data.decode()!r})")
        self._chunks = []
        self._callback = self._CALLBACK(self._collect)  # keep a reference: ctypes must not free it
        self.lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, wav, n, _events):
        if n > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0

    def say(self, text, voice, rate, pitch, noise_seed=1):
        """Synthesize `text`; returns int16 samples at `self.fs`.

        espeak-ng seeds its noise generator (breath noise of voices such as en+f2, en-us+f3) from the clock
        at initialisation: seeding it per utterance makes the output a function of the arguments.
        """
        with self._lock:
            self.lib.espeak_ng_SetRandSeed(ctypes.c_long(int(noise_seed)))
            if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise CorpusError(f"corpus.espeak.voices: espeak-ng has no voice {voice!r}")
            self.lib.espeak_SetParameter(self.RATE, int(rate), 0)
            self.lib.espeak_SetParameter(self.PITCH, int(pitch), 0)
            self._chunks = []
            data = text.encode() + b"\0"
            self.lib.espeak_Synth(data, len(data), 0, 1, 0, 0, None, None)  # 1 = POS_CHARACTER, 0 = CHARS_AUTO
            self.lib.espeak_Synchronize()
            return np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)


def _espeak(corpus, fs, seed):
    settings = corpus["espeak"]
    engine = _Espeak()
    utterances = []
    for i in range(corpus["n_utterances"]):
        rng = seeding.rng(seed, "espeak", i)
        words = " ".join(rng.choice(SENTENCES, size=settings["sentences_per_utterance"], replace=False))
        voice = str(rng.choice(settings["voices"]))
        rate = rng.integers(*settings["rate"], endpoint=True)
        pitch = rng.integers(*settings["pitch"], endpoint=True)
        raw = engine.say(words, voice, rate, pitch, noise_seed=rng.integers(2**31))
        label = f"espeak voice={voice} rate={rate} pitch={pitch}: {words}"
        utterances.append(Utterance(prepare(raw / 32768.0, engine.fs, fs, settings["trim_db"]), label))
    return utterances


def check_lengths(utterances, corpus, window):
    """Refuse utterances shorter than one window (they would fail the simulation later), naming each.

    For `wav_dir` and `cmu_arctic` the label is the file's path under `corpus.path`.
    """
    short = [u for u in utterances if len(u.signal) < window]
    if not short:
        return
    where = (f"files under corpus.path {corpus.get('path')!r}" if corpus["kind"] != "espeak"
             else "espeak utterances (raise corpus.espeak.sentences_per_utterance)")
    listed = "; ".join(f"{u.label!r} ({len(u.signal)} samples)" for u in short[:5])
    raise CorpusError(f"{len(short)} of {len(utterances)} {where} are shorter than one window "
                      f"(signals.window = {window} samples, after trimming silence): {listed}"
                      f"{' ...' if len(short) > 5 else ''}; remove or lengthen them, or lower signals.window")


def write(path, utterances, attrs):
    """Store utterances in one HDF5 file (signals concatenated, with offsets; checksummed), atomically."""
    lengths = [len(u.signal) for u in utterances]
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs.update(attrs)
        write_array(f, "signal", np.concatenate([u.signal for u in utterances]))
        write_array(f, "offset", np.concatenate([[0], np.cumsum(lengths)]))
        write_array(f, "label", np.array([u.label.encode() for u in utterances]))


def read(path):
    """Utterances written by `write` (HDF5 verifies the checksums; the samples are checked to be finite)."""
    try:
        with h5py.File(path, "r") as f:
            signal, offset, labels = f["signal"][:], f["offset"][:], f["label"][:]
    except (OSError, KeyError, ValueError) as err:
        raise CorpusError(f"{path}: not a readable corpus file, or corrupt ({err}); {rebuild_advice(path)}") from err
    if not np.isfinite(signal).all():
        raise CorpusError(f"{path}: holds NaN or infinite samples; {rebuild_advice(path)}")
    return [
        Utterance(signal[a:b], label.decode()) for a, b, label in zip(offset[:-1], offset[1:], labels)
    ]
