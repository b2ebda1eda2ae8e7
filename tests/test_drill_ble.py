"""A drill live on a (simulated, through the real bleak stack) BLE EMG device, then replayed."""

from __future__ import annotations

import json

import numpy as np
from scipy import signal

from movekit.cli import main

PROTOCOL = """
name = "vmo_facilitation_test"
title = "VMO facilitation (test)"
[[steps]]
id = "work"
kind = "reps"
reps = 50
rep_by = [{ start = "vmo_pct_mvc > 20", end = "vmo_pct_mvc < 8" }]

[[cues]]
id = "vmo_on"
kind = "confirm"
when = "vmo_pct_mvc > 20"
hysteresis = 5.0
min_duration_s = 0.05
cooldown_s = 0.3
during = ["drill"]
"""


def bursts(seconds=6.0, rate=1000.0, seed=3):
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    x = rng.normal(0, 3.0, (n, 2))
    sos = signal.butter(4, [40, 200], "bandpass", fs=rate, output="sos")
    for t0 in np.arange(1.0, seconds, 0.9):
        i0 = int(t0 * rate)
        b = signal.sosfilt(sos, rng.normal(0, 1, (600, 2)), axis=0)[200:]
        x[i0 : i0 + 400] += 150.0 * b / b.std(axis=0)
    return x


def test_drill_live_on_ble_emg_then_replay(tmp_path, capsys):
    from movekit.capture.ble.mock_bluez import PrivateSystemBus, mock_in_thread
    from movekit.capture.ble.simulate import SimulatedGenericEMG

    proto = tmp_path / "vmo.toml"
    proto.write_text(PROTOCOL)
    x = bursts()
    mvc = tmp_path / "mvc.csv"
    np.savetxt(
        mvc,
        np.column_stack([np.arange(3000) / 1000, 2 * x[1000:4000]]),
        delimiter=",",
        header="time_s,ch1_uv,ch2_uv",
        comments="",
    )
    rec, log = tmp_path / "ble.mkrec", tmp_path / "live.jsonl"
    with PrivateSystemBus(set_env=True), mock_in_thread([SimulatedGenericEMG("C0:FF:EE:00:00:04", x, 1000.0)]):
        code = main(
            [
                "drill",
                str(proto),
                "--ble",
                "C0:FF:EE:00:00:04:generic_emg@thigh",
                "--channel",
                "vmo=ch1",
                "--channel",
                "vl=ch2",
                "--mvc",
                str(mvc),
                "--duration",
                "5",
                "-o",
                str(rec),
                "--no-sound",
                "--no-speech",
                "--log",
                str(log),
                "--quiet",
            ]
        )
    assert code == 0, capsys.readouterr().err
    live = [json.loads(line) for line in log.read_text().splitlines()]
    cues = [(e["t_s"], e["id"]) for e in live if e["kind"] == "cue"]
    assert len(cues) >= 2  # bursts every 0.9 s confirmed
    assert sum(e["kind"] == "rep" for e in live) >= 2
    capsys.readouterr()
    assert main(["drill", str(proto), str(rec), "--quiet"]) == 0
    assert f"replay reproduces all {len(cues)} stored cues" in capsys.readouterr().err
