"""Tests for sslrp.data.corpus: the offline espeak corpus, a folder of WAV/FLAC files, CMU ARCTIC, file I/O."""

import time
from pathlib import Path

import numpy as np
import pytest
import soundfile
import yaml

from sslrp import config as configuration
from sslrp.data import corpus

FS = 16000
SCHEMA = Path(__file__).resolve().parents[1] / "config" / "schema.yaml"


def corpus_settings(**settings):
    return configuration.validate({"conditions": [{"t60": 0.3, "snr": 20}], "corpus": settings})["corpus"]


def espeak_settings(n=4, **espeak):
    return corpus_settings(kind="espeak", n_utterances=n, espeak={"sentences_per_utterance": 1, **espeak})


@pytest.fixture(scope="module")
def espeak_corpus():
    return corpus.load(espeak_settings(), FS, seed=11)


def test_espeak_utterances_are_distinct_normalised_speech(espeak_corpus):
    assert len(espeak_corpus) == 4
    for u in espeak_corpus:
        assert u.signal.dtype == np.float32 and u.signal.ndim == 1
        assert np.abs(u.signal).max() == pytest.approx(1.0)
        assert 0.8 < len(u.signal) / FS < 6.0  # one Harvard sentence at 130-200 words/min
        rms = np.sqrt(np.mean(u.signal.astype(float) ** 2))
        assert rms > 0.05  # speech, not a click in silence
        assert u.label.startswith("espeak voice=")
    assert len({u.label for u in espeak_corpus}) == 4
    for i in range(4):
        for j in range(i + 1, 4):
            a, b = espeak_corpus[i].signal, espeak_corpus[j].signal
            n = min(len(a), len(b))
            assert len(a) != len(b) or not np.array_equal(a, b)
            assert abs(np.corrcoef(a[:n], b[:n])[0, 1]) < 0.5


def test_espeak_is_resampled_to_16_khz(espeak_corpus):
    """espeak-ng renders at 22050 Hz. Each utterance is synthesized again here straight from espeak-ng (voice,
    rate, pitch and words read from the label) and trimmed as the corpus trims: at 16 kHz the corpus signal must
    have 16000 / 22050 of its length (up to where the trim falls, 1 ms), not its own length (38 % more)."""
    engine = corpus._Espeak()
    assert engine.fs == 22050
    for u in espeak_corpus:
        settings, words = u.label.removeprefix("espeak ").split(": ", 1)
        voice, rate, pitch = (item.split("=")[1] for item in settings.split())
        raw = engine.say(words, voice, int(rate), int(pitch)).astype(float)
        loud = np.flatnonzero(np.abs(raw) > np.abs(raw).max() * 10 ** (-40 / 20))  # trim_db: the default 40
        expected = round((loud[-1] + 1 - loud[0]) * FS / 22050)
        # Measured 0 to 2 samples apart (breath noise is seeded otherwise here, which moves the trim points by a
        # sample or two); left at 22050 Hz a sentence of >= 0.8 s would be > 4000 samples longer.
        assert abs(len(u.signal) - expected) <= 16, (len(u.signal), expected)


def test_espeak_corpus_is_reproducible_from_the_seed(espeak_corpus):
    # espeak-ng keeps state between syntheses (C statics, rand()): a corpus synthesized after others in
    # the same process must still equal the first one.
    other = corpus.load(espeak_settings(), FS, seed=12)
    again = corpus.load(espeak_settings(), FS, seed=11)
    assert [u.label for u in again] == [u.label for u in espeak_corpus]
    for a, b in zip(again, espeak_corpus):
        np.testing.assert_array_equal(a.signal, b.signal)
    assert [u.label for u in other] != [u.label for u in espeak_corpus]
    assert not all(len(a.signal) == len(b.signal) and np.array_equal(a.signal, b.signal)
                   for a, b in zip(other, espeak_corpus))


def test_breathy_voices_do_not_depend_on_the_clock():
    # espeak-ng seeds its noise generator (breath noise of en+f2, en-us+f3) from time(NULL) when it
    # initialises; two corpora made in different seconds must still be equal.
    settings = espeak_settings(n=2, voices=["en+f2", "en-us+f3"])
    first = corpus.load(settings, FS, seed=3)
    second = int(time.time())
    while int(time.time()) == second:
        time.sleep(0.02)
    again = corpus.load(settings, FS, seed=3)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a.signal, b.signal)


def test_espeak_varies_voice_rate_and_pitch_within_the_settings():
    utterances = corpus.load(espeak_settings(n=12, rate=[140, 150], pitch=[30, 40]), FS, seed=1)
    labels = [u.label for u in utterances]
    rates = [int(label.split("rate=")[1].split()[0]) for label in labels]
    pitches = [int(label.split("pitch=")[1].split(":")[0]) for label in labels]
    voices = {label.split("voice=")[1].split()[0] for label in labels}
    assert all(140 <= r <= 150 for r in rates) and len(set(rates)) > 1
    assert all(30 <= p <= 40 for p in pitches) and len(set(pitches)) > 1
    assert len(voices) > 1


def test_max_utterances_caps_the_corpus():
    assert len(corpus.load({**espeak_settings(n=3), "max_utterances": 2}, FS, seed=1)) == 2


def default_voices():
    schema = yaml.safe_load(SCHEMA.read_text())
    return schema["properties"]["corpus"]["properties"]["espeak"]["properties"]["voices"]["default"]


def test_every_default_voice_exists():
    import espeakng_loader

    variants = Path(espeakng_loader.get_data_path()) / "voices" / "!v"
    signals = {}
    for voice in default_voices():
        # espeak-ng silently ignores an unknown "+variant": check the variant file is there, and that the
        # base voice is accepted (SetVoiceByName fails, hence CorpusError, for an unknown language).
        if "+" in voice:
            assert (variants / voice.split("+")[1]).is_file(), voice
        (u,) = corpus.load(espeak_settings(n=1, voices=[voice]), FS, seed=5)
        assert len(u.signal) > 0.5 * FS and np.abs(u.signal).max() == pytest.approx(1.0)
        signals[voice] = u.signal
    # Same text, rate and pitch (same seed): each voice must sound different.
    items = list(signals.items())
    for i, (va, a) in enumerate(items):
        for vb, b in items[i + 1:]:
            assert len(a) != len(b) or not np.array_equal(a, b), (va, vb)


def test_unknown_voice_is_a_corpus_error():
    with pytest.raises(corpus.CorpusError, match="corpus.espeak.voices"):
        corpus.load(espeak_settings(n=1, voices=["xx-notalanguage"]), FS, seed=0)


# --- wav_dir ------------------------------------------------------------------------------------

def tone(freq, seconds, fs):
    t = np.arange(int(seconds * fs)) / fs
    return 0.5 * np.sin(2 * np.pi * freq * t)


@pytest.fixture
def sound_folder(tmp_path):
    folder = tmp_path / "sounds"
    (folder / "speaker_b").mkdir(parents=True)
    soundfile.write(folder / "a_8k.wav", tone(440, 0.5, 8000), 8000)
    soundfile.write(folder / "speaker_b" / "b_22k.flac", tone(1000, 0.8, 22050), 22050)
    stereo = np.stack([tone(300, 0.25, 16000), tone(3000, 0.25, 16000)], axis=1)
    soundfile.write(folder / "c_16k_stereo.WAV", stereo, 16000)
    soundfile.write(folder / "silent.wav", np.zeros(4000), 16000)
    (folder / "notes.txt").write_text("not audio")
    return folder


def dominant_frequency(signal, fs):
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    return np.fft.rfftfreq(len(signal), 1 / fs)[np.argmax(spectrum)]


def test_wav_dir_reads_and_resamples_every_sound_file(sound_folder):
    utterances = corpus.load(corpus_settings(kind="wav_dir", path=str(sound_folder)), FS, seed=0)
    by_label = {u.label: u.signal for u in utterances}
    assert sorted(by_label) == ["a_8k.wav", "c_16k_stereo.WAV", "speaker_b/b_22k.flac"]  # silent file skipped
    expected = {"a_8k.wav": (0.5, 440), "speaker_b/b_22k.flac": (0.8, 1000), "c_16k_stereo.WAV": (0.25, 300)}
    for label, (seconds, freq) in expected.items():
        signal = by_label[label]
        assert signal.dtype == np.float32
        assert np.abs(signal).max() == pytest.approx(1.0)
        assert abs(len(signal) - seconds * FS) <= 0.01 * seconds * FS, label  # lengths scale with the rate
        assert dominant_frequency(signal, FS) == pytest.approx(freq, abs=4), label  # pitch kept: 16 kHz


def test_wav_dir_without_sound_files_is_a_corpus_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(corpus.CorpusError, match="corpus.path"):
        corpus.load(corpus_settings(kind="wav_dir", path=str(tmp_path / "empty")), FS, seed=0)


def test_wav_dir_missing_folder_is_a_corpus_error(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(corpus.CorpusError, match="corpus.path") as err:
        corpus.load({"kind": "wav_dir", "path": str(missing)}, FS, seed=0)
    assert str(missing) in str(err.value)
    with pytest.raises(corpus.CorpusError, match="corpus.path"):
        corpus.load({"kind": "wav_dir", "path": None}, FS, seed=0)


def test_unknown_kind_is_a_corpus_error():
    with pytest.raises(corpus.CorpusError, match="corpus.kind") as err:
        corpus.load({"kind": "timit"}, FS, seed=0)
    assert "timit" in str(err.value)


def test_cmu_arctic_without_a_copy_and_without_download_is_a_clear_error(tmp_path):
    settings = corpus_settings(kind="cmu_arctic", path=str(tmp_path / "arctic"), download=False)
    with pytest.raises(corpus.CorpusError) as err:
        corpus.load(settings, FS, seed=0)
    message = str(err.value)
    assert "CMU ARCTIC" in message and "corpus.download" in message and "corpus.path" in message
    assert not (tmp_path / "arctic").exists()  # nothing downloaded or created


def test_cmu_arctic_uses_a_local_copy(tmp_path):
    local = tmp_path / "arctic" / "cmu_us_bdl_arctic" / "wav"
    local.mkdir(parents=True)
    soundfile.write(local / "arctic_a0001.wav", tone(500, 0.4, 16000), 16000)
    utterances = corpus.load(corpus_settings(kind="cmu_arctic", path=str(tmp_path / "arctic")), FS, seed=0)
    assert [u.label for u in utterances] == ["cmu_us_bdl_arctic/wav/arctic_a0001.wav"]


# --- file I/O -----------------------------------------------------------------------------------

def test_write_read_round_trip(tmp_path, espeak_corpus):
    path = tmp_path / "corpus" / "speech.h5"
    corpus.write(path, espeak_corpus, {"fs": FS, "kind": "espeak"})
    back = corpus.read(path)
    assert [u.label for u in back] == [u.label for u in espeak_corpus]
    for a, b in zip(back, espeak_corpus):
        assert a.signal.dtype == np.float32
        np.testing.assert_array_equal(a.signal, b.signal)
    assert [p.name for p in path.parent.iterdir()] == ["speech.h5"]  # no temporary left behind


def test_reading_a_broken_corpus_file_names_it(tmp_path):
    path = tmp_path / "speech.h5"
    path.write_bytes(b"not hdf5 at all")
    with pytest.raises(corpus.CorpusError, match="speech.h5"):
        corpus.read(path)
    with pytest.raises(corpus.CorpusError, match="nothing.h5"):
        corpus.read(tmp_path / "nothing.h5")
