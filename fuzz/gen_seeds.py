"""Write the small committed seed corpora under fuzz/corpus/ (run from fuzz/).

    /tmp/fixvenv/bin/python gen_seeds.py

Needs numpy and soundfile (libsndfile with FLAC/Vorbis/MP3). Every seed is a
short tone (a few hundred samples) so the whole corpus stays well under 100 KB.
"""
import io
import os

import numpy as np
import soundfile as sf


def tone(sr, n, ch, f=440.0):
    t = np.arange(n) / sr
    x = 0.5 * np.sin(2 * np.pi * f * t)
    return np.stack([x * (0.5 + 0.5 * k / max(ch, 1)) for k in range(ch)], axis=1)


SEEDS = [
    # name, sr, frames, channels, format, subtype
    ("pcm16-mono-16k.wav", 16000, 400, 1, "WAV", "PCM_16"),
    ("u8-stereo-8k.wav", 8000, 300, 2, "WAV", "PCM_U8"),
    ("pcm24-3ch-44k.wav", 44100, 200, 3, "WAV", "PCM_24"),  # WAVE_FORMAT_EXTENSIBLE
    ("pcm32-mono-48k.wav", 48000, 256, 1, "WAV", "PCM_32"),
    ("float-stereo-22k.wav", 22050, 256, 2, "WAV", "FLOAT"),
    ("double-mono-11k.wav", 11025, 128, 1, "WAV", "DOUBLE"),
    ("ulaw-mono-8k.wav", 8000, 400, 1, "WAV", "ULAW"),
    ("alaw-mono-8k.wav", 8000, 400, 1, "WAV", "ALAW"),
    ("flac-mono-16k.flac", 16000, 1000, 1, "FLAC", "PCM_16"),
    ("vorbis-mono-16k.ogg", 16000, 2000, 1, "OGG", "VORBIS"),
    ("mp3-mono-16k.mp3", 16000, 2000, 1, "MP3", "MPEG_LAYER_III"),  # MPEG-2 layer III
    # Added with symphonia 0.6 (issue 15): the other Vorbis and MPEG paths.
    ("vorbis-stereo-44k.ogg", 44100, 3000, 2, "OGG", "VORBIS"),  # two channels, coupling
    ("mp3-stereo-44k.mp3", 44100, 2304, 2, "MP3", "MPEG_LAYER_III"),  # MPEG-1, joint stereo
    ("mp3-mono-8k.mp3", 8000, 1152, 1, "MP3", "MPEG_LAYER_III"),  # MPEG-2.5
]

# Seeds written with a small ID3v2.3 tag (one TIT2 frame) in front, the way
# tagged MP3 downloads start: specnorm-audio skips the tag itself.
ID3_TAGGED = {"mp3-stereo-44k.mp3": "id3-mp3-stereo-44k.mp3"}


def id3v2_tag(title):
    """An ID3v2.3 tag holding one TIT2 (title) frame, ISO-8859-1 text."""
    body = b"\x00" + title.encode("latin-1")
    frame = b"TIT2" + len(body).to_bytes(4, "big") + b"\x00\x00" + body
    size = len(frame)  # < 128: the syncsafe size is the plain value
    return b"ID3\x03\x00\x00" + bytes([0, 0, 0, size]) + frame

# 8 configuration bytes for the spectrogram target (see fuzz_targets/spectrogram.rs):
# rate index, seconds, flags, n_fft lo/hi, win, hop, mel.
CONFIGS = [
    bytes([2, 0, 1, 0x8E, 0x01, 0x8F, 0xC7, 0x00]),  # 16 kHz, free length, n_fft 400, hop 200
    bytes([0, 4, 5, 0xFE, 0x00, 0xFF, 0x3F, 0x80 | 39]),  # 8 kHz, 0.2 s, constant pad, 40 mels
    bytes([5, 10, 2, 0x3E, 0x00, 0x3F, 0x0F, 0x00]),  # 44.1 kHz, 0.5 s, no centring
]


def main():
    for target in ("decode", "spectrogram"):
        os.makedirs(f"corpus/{target}", exist_ok=True)
    for i, (name, sr, n, ch, fmt, sub) in enumerate(SEEDS):
        buf = io.BytesIO()
        try:
            sf.write(buf, tone(sr, n, ch), sr, format=fmt, subtype=sub)
        except Exception as e:  # e.g. libsndfile without MP3
            print("skip", name, e)
            continue
        data = buf.getvalue()
        with open(f"corpus/decode/seed-{name}", "wb") as f:
            f.write(data)
        with open(f"corpus/spectrogram/seed-{name}", "wb") as f:
            f.write(CONFIGS[i % len(CONFIGS)] + data)
        print(name, len(data))
        if name in ID3_TAGGED:
            tagged = id3v2_tag("specnorm seed") + data
            with open(f"corpus/decode/seed-{ID3_TAGGED[name]}", "wb") as f:
                f.write(tagged)
            print(ID3_TAGGED[name], len(tagged))


if __name__ == "__main__":
    main()
