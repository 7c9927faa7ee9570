"""FeatureExtractor: parity with the committed torchaudio golden arrays, config, shapes."""

import pickle

import numpy as np
import pytest

import specnorm
from conftest import FIXTURES, write_wav

DSP = FIXTURES / "dsp"
# The bound of crates/dsp/tests/parity.rs: max |error| <= 0.01 dB within 80 dB of the peak.
TOL_DB = 0.01


def npy(name):
    return np.load(DSP / f"{name}.npy")


def assert_db_close(ours, ref, tol=TOL_DB, range_db=80.0):
    assert ours.shape == ref.shape
    assert np.isfinite(ours).all()
    mask = ref >= ref.max() - range_db
    assert mask.sum() > ref.size / 2
    err = np.abs(ours - ref)[mask].max()
    assert err <= tol, f"max abs err {err} dB > {tol} dB"


RAW = dict(sample_rate=16_000, seconds=None, waveform_norm=False)

CASES = [
    ("sig_a", "a_default_db", {}),
    ("sig_a", "a_mel64_htk_db", dict(n_mels=64)),
    ("sig_b", "b_512_128_400_hamming_db", dict(n_fft=512, hop=128, win_length=400, window="hamming")),
    ("sig_a", "a_256_100_200_rect_const_db", dict(n_fft=256, hop=100, win_length=200, window="rectangular", pad_mode="constant")),
]


@pytest.mark.parametrize("signal,golden,kw", CASES)
def test_extract_waveform_matches_torchaudio(signal, golden, kw):
    fx = specnorm.FeatureExtractor(**RAW, **kw)
    ours = fx.extract_waveform(npy(signal), 16_000)
    assert ours.dtype == np.float32
    assert_db_close(ours, npy(golden))
    assert fx.n_bins == ours.shape[0]


def test_extract_files_matches_torchaudio(tmp_path):
    """extract(paths) on float WAVs of the golden signals: [B, F, T], input order."""
    paths = []
    for name in ("sig_a", "sig_b", "sig_a"):
        p = tmp_path / f"{name}-{len(paths)}.wav"
        write_wav(p, npy(name), 16_000, fmt="float")
        paths.append(p)
    fx = specnorm.FeatureExtractor(**RAW)
    out = fx.extract([str(p) for p in paths[:2]] + [paths[2]])
    assert out.shape == (3, 201, 41) and out.dtype == np.float32
    assert_db_close(out[0], npy("a_default_db"))
    assert_db_close(out[2], npy("a_default_db"))
    assert_db_close(out[1], npy("b_default_db_f64"), tol=4e-3)  # float64 numpy reference
    np.testing.assert_array_equal(out[1], fx.extract_file(paths[1]))


def test_defaults_are_the_blog_pipeline(esc50):
    fx = specnorm.FeatureExtractor()
    assert (fx.n_bins, fx.n_frames) == (201, 401)
    clips = sorted((esc50 / "audio").glob("*.wav"))[:3]
    out = fx.extract(clips)
    assert out.shape == (3, 201, 401)
    # 1 s clips padded to 5 s: the padding is digital silence at the dB floor (-100 dB).
    assert out[:, :, -50:].max() == pytest.approx(-100.0)


def test_waveform_input_forms():
    fx = specnorm.FeatureExtractor(seconds=1.0)
    x = npy("sig_a")
    mono = fx.extract_waveform(x, 16_000)
    stereo = fx.extract_waveform(np.stack([x, x]), 16_000)
    np.testing.assert_allclose(mono, stereo, atol=1e-4)
    as_list = fx.extract_waveform(x.astype(np.float64).tolist(), 16_000)
    np.testing.assert_allclose(mono, as_list, atol=1e-4)
    with pytest.raises(specnorm.ConfigError, match="shape"):
        fx.extract_waveform(np.zeros((1, 2, 3000), np.float32), 16_000)


def test_config_round_trips(tmp_path):
    fx = specnorm.FeatureExtractor(n_mels=40, f_min=20.0, f_max=7600.0, mel_scale="slaney", mel_norm="slaney", top_db=80.0, seconds=2.0)
    cfg = fx.config
    assert cfg["n_mels"] == 40 and cfg["mel_scale"] == "slaney" and cfg["top_db"] == 80.0
    assert specnorm.FeatureExtractor(**cfg).config == cfg
    fx.to_json(tmp_path / "features.json")
    assert specnorm.FeatureExtractor.from_json(tmp_path / "features.json").config == cfg
    back = pickle.loads(pickle.dumps(fx))
    assert back.config == cfg and back.n_bins == 40


def test_bad_config():
    with pytest.raises(TypeError, match="hop_length"):
        specnorm.FeatureExtractor(hop_length=100)
    with pytest.raises(specnorm.ConfigError, match="window"):
        specnorm.FeatureExtractor(window="kaiser")
    with pytest.raises(specnorm.ConfigError, match="n_mels"):
        specnorm.FeatureExtractor(f_min=20.0)
    with pytest.raises(specnorm.ConfigError):
        specnorm.FeatureExtractor(sample_rate=0)
    with pytest.raises(specnorm.ConfigError):
        specnorm.FeatureExtractor(n_fft=400, win_length=800)
    assert issubclass(specnorm.ConfigError, specnorm.SpecnormError)


def test_keys_are_the_libraries_flat_keys():
    """The keys, their order and what "off" is come from specnorm_features::FeatureKeys."""
    cfg = specnorm.FeatureExtractor().config
    assert list(cfg) == ["sample_rate", "seconds", "waveform_norm", "n_fft", "win_length", "hop", "window", "center", "pad_mode", "power", "n_mels", "f_min", "f_max", "mel_scale", "mel_norm", "scale", "top_db", "ln_eps"]
    assert (cfg["n_fft"], cfg["hop"], cfg["window"], cfg["scale"], cfg["n_mels"], cfg["top_db"]) == (400, 200, "hann", "db", None, None)
    free = specnorm.FeatureExtractor(seconds=None, n_mels=0, scale="log", ln_eps=1e-5)
    assert free.config["seconds"] is None and free.config["n_mels"] is None
    assert free.config["scale"] == "ln" and free.config["ln_eps"] == 1e-5
    # n_mels=0 is no mel filterbank: f_min has nothing to apply to
    with pytest.raises(specnorm.ConfigError, match="f_min applies only to a mel spectrogram"):
        specnorm.FeatureExtractor(n_mels=0, f_min=0.1)
    with_mel = specnorm.FeatureExtractor(n_mels=40, f_min=0.1)
    # floats come back as written, not as the float32's widening (0.10000000149011612)
    assert with_mel.config["f_min"] == 0.1 and with_mel.config["mel_norm"] == "none"
    with pytest.raises(specnorm.ConfigError, match=r"top_db applies only to scale = \"db\" \(the scale is \"power\"\)"):
        specnorm.FeatureExtractor(scale="power", top_db=80.0)
    with pytest.raises(specnorm.ConfigError, match="n_fft: invalid type: string"):
        specnorm.FeatureExtractor(n_fft="big")
    with pytest.raises(specnorm.ConfigError, match="scale: unknown variant `amplitude`, expected one of `db`, `ln`, `log`, `power`"):
        specnorm.FeatureExtractor(scale="amplitude")


def test_from_json_refuses_what_is_not_a_config(tmp_path):
    acc = specnorm.StatsAccumulator("global")
    acc.update(np.ones((1, 1, 2, 3), np.float32))
    acc.finalize().to_json(tmp_path / "stats.json")
    with pytest.raises(specnorm.ConfigError, match="no feature configuration"):
        specnorm.FeatureExtractor.from_json(tmp_path / "stats.json")
    (tmp_path / "junk.json").write_text('{"n_fft": 512}')
    with pytest.raises(specnorm.ConfigError, match="junk.json"):
        specnorm.FeatureExtractor.from_json(tmp_path / "junk.json")
    with pytest.raises(FileNotFoundError, match="missing.json"):
        specnorm.FeatureExtractor.from_json(tmp_path / "missing.json")
