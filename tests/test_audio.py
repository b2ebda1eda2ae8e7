"""Tones, espeak-ng speech (and its absence), playback without a device, WAV cue placement."""

from __future__ import annotations

import numpy as np
import pytest

from movekit.feedback import audio


def band_energy(x, rate, f, half_width=20.0):
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    sel = np.abs(freqs - f) <= half_width
    return spec[sel].sum() / spec.sum()


def test_tone_frequency_duration_and_ramps():
    x = audio.tone(440.0, 0.2, 22050)
    assert len(x) == 4410 and x.dtype == np.float32
    assert band_energy(x, 22050, 440.0) > 0.95
    assert abs(x[0]) < 1e-3 and abs(x[-1]) < 0.01  # ramped, no click
    s = audio.success_tone()
    assert band_energy(s[: len(s) // 2], audio.RATE_HZ, 660) > 0.9
    assert band_energy(s[len(s) // 2 :], audio.RATE_HZ, 880) > 0.9


def test_wav_timeline_places_each_cue_at_its_time(tmp_path):
    tl = audio.WavTimeline(22050)
    cues = [(1.0, 440.0), (2.5, 1000.0), (4.2, 660.0)]
    for t, f in cues:
        tl.add(t, audio.tone(f, 0.2))
    tl.extend_to(6.0)
    path = tl.write(tmp_path / "cues.wav")
    x, rate = audio.read_wav(path)
    assert rate == 22050 and len(x) == pytest.approx(6.0 * rate, abs=2)
    frame = int(0.05 * rate)
    energy = np.array([np.sum(x[i : i + frame] ** 2) for i in range(0, len(x) - frame, frame)])
    loud = np.flatnonzero(energy > 0.1 * energy.max()) * 0.05
    for t, f in cues:
        seg = x[int((t + 0.01) * rate) : int((t + 0.19) * rate)]
        assert np.sqrt(np.mean(seg**2)) > 0.2  # energy at the cue's time
        assert band_energy(seg, rate, f) > 0.9  # at the tone's frequency
        assert np.sqrt(np.mean(x[int((t - 0.3) * rate) : int((t - 0.05) * rate)] ** 2)) < 1e-3  # silence before
        assert np.min(np.abs(loud - t)) < 0.051
    assert abs(x[int(5.5 * rate)]) == 0.0


def test_speech_with_espeak_is_cached(tmp_path):
    sp = audio.Speech(cache_dir=tmp_path)
    if not sp.available:
        pytest.skip("espeak-ng not installed")
    x = sp.say("Brace gently")
    assert x is not None and 0.3 < len(x) / audio.RATE_HZ < 3.0
    assert np.sqrt(np.mean(x**2)) > 0.01
    assert sp.cache_path("Brace gently").exists()
    again = audio.Speech(cache_dir=tmp_path, executable="espeak-ng")
    again.exe = "/nonexistent/espeak-ng"  # the cache is used, the program is not run
    np.testing.assert_array_equal(again.say("Brace gently"), x)


def test_no_espeak_falls_back_to_tone_with_notice(tmp_path, capsys):
    sp = audio.Speech(cache_dir=tmp_path, executable="no-such-espeak-ng")
    assert not sp.available and sp.say("hello") is None
    err = capsys.readouterr().err
    assert "notice" in err and "espeak-ng" in err
    snd = audio.CueSounds(sp).render(say="Knee over toes")
    assert len(snd) == int(0.3 * audio.RATE_HZ) and band_energy(snd, audio.RATE_HZ, 440) > 0.9


def test_no_sound_device_is_a_notice_not_a_crash(tmp_path, capsys):
    p = audio.Player()
    if p.available:  # pragma: no cover - only on machines with a sound card
        p.close()
        pytest.skip("a sound device exists here")
    assert p.play(audio.tone(440)) is False
    assert "notice" in capsys.readouterr().err
    ca = audio.CueAudio(play=True, wav=True, speech=False)
    ca.cue(0.5, tone_hz=880.0)
    ca.cue(1.0, kind="confirm")
    x, rate = audio.read_wav(ca.write_wav(tmp_path / "c.wav", end_s=2.0))
    assert len(x) == 2 * rate
    assert band_energy(x[int(0.51 * rate) : int(0.64 * rate)], rate, 880) > 0.9
    assert band_energy(x[int(1.01 * rate) : int(1.08 * rate)], rate, 660) > 0.9
