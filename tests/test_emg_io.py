"""EMG import (CSV, HDF5, recordings) and the ``movekit emg`` command."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from movekit.analysis.synthetic import emg_bursts
from movekit.cli import main
from movekit.emg_io import plux_emg_uv, read_emg
from movekit.errors import MovekitError

RATE = 1000.0


def synthetic(times_s, **kw):
    return emg_bursts(times_s, rate_hz=RATE, **kw)


def test_plux_transfer_function():
    # mid-scale is 0 V; full scale is +VCC/2 / G = 1.5 mV
    np.testing.assert_allclose(plux_emg_uv([32768, 65536, 0], 16), [0.0, 1500.0, -1500.0])
    np.testing.assert_allclose(plux_emg_uv([2048], 12), [0.0])


def test_csv_with_time_units_and_rate(tmp_path):
    t, x = synthetic([1.0], total_s=2.0, channels=2)
    p = tmp_path / "e.csv"
    np.savetxt(
        p, np.column_stack([t, x[:, 0], x[:, 1] / 1000]), delimiter=",", header="time_s,vmo_uv,vl_mv", comments=""
    )
    s = read_emg(p)
    assert s.channel_names == ("vmo", "vl") and s.rate_hz == pytest.approx(1000.0)
    np.testing.assert_allclose(s.data_uv, x, atol=1e-6)
    q = tmp_path / "norate.csv"
    np.savetxt(q, x, delimiter=",", header="vmo,vl", comments="")
    with pytest.raises(MovekitError, match="--rate"):
        read_emg(q)
    s2 = read_emg(q, rate_hz=2000)
    assert s2.t_s[1] == pytest.approx(0.0005)


def test_generic_hdf5(tmp_path):
    t, x = synthetic([1.0], total_s=2.0, channels=2)
    p = tmp_path / "e.h5"
    with h5py.File(p, "w") as f:
        f.attrs["rate_hz"] = 1000.0
        d = f.create_dataset("data", data=x / 1e3)
        d.attrs["channel_names"] = ["vmo", "vl"]
        d.attrs["unit"] = "mV"
    s = read_emg(p)
    assert s.channel_names == ("vmo", "vl")
    np.testing.assert_allclose(s.data_uv, x)


def test_cli_envelope_events_and_mvc(tmp_path, capsys):
    times = [1.0, 3.0]
    t, x = synthetic(times, total_s=4.5, channels=2)
    src = tmp_path / "task.csv"
    np.savetxt(src, np.column_stack([t, x]), delimiter=",", header="time_s,vmo_uv,vl_uv", comments="")
    out, ev = tmp_path / "env.csv", tmp_path / "ev.json"
    assert main(["emg", str(src), "-o", str(out), "--events", str(ev)]) == 0
    header = out.read_text().splitlines()[0]
    assert header == "time_s,vmo_envelope_uv,vl_envelope_uv"
    table = np.loadtxt(out, delimiter=",", skiprows=1)
    assert table.shape == (len(t), 3)
    doc = json.loads(ev.read_text())
    for ch in ("vmo", "vl"):
        np.testing.assert_allclose(doc["channels"][ch]["onsets_s"], times, atol=0.01)
        assert len(doc["channels"][ch]["offsets_s"]) == 2
        assert set(doc["channels"][ch]["fatigue"]) >= {"median_frequency_slope_hz_per_s", "pct_per_min"}
    np.testing.assert_allclose(doc["vmo_vl"]["onset_difference_s"], [0.0, 0.0], atol=0.01)
    # an MVC trial at 4x the task amplitude -> ~25 %MVC during the bursts
    mvc = tmp_path / "mvc.csv"
    np.savetxt(mvc, np.column_stack([t, 4 * x]), delimiter=",", header="time_s,vmo_uv,vl_uv", comments="")
    assert main(["emg", str(src), "--mvc", str(mvc), "-o", str(out), "--overwrite"]) == 0  # replaces its own CSV
    header = out.read_text().splitlines()[0]
    assert header == "time_s,vmo_pct_mvc,vl_pct_mvc"
    table = np.loadtxt(out, delimiter=",", skiprows=1)
    during = (t > 1.2) & (t < 1.45)
    assert 15 < np.median(table[during, 1]) < 30


def test_cli_on_recording_and_errors(tmp_path, capsys):
    from movekit.recording import RecordingWriter, StreamSpec

    t, x = synthetic([1.0], total_s=2.5, channels=2)
    rec = tmp_path / "s.mkrec"
    with RecordingWriter(rec, {"source": "test"}) as w:
        w.add_stream(StreamSpec("emg", (2,), "uV", 1000.0, ("vmo", "vl"), kind="emg"))
        for i in range(0, len(t), 100):
            w.append("emg", t[i : i + 100], x[i : i + 100])
    out, ev = tmp_path / "o.csv", tmp_path / "o.json"
    assert main(["emg", str(rec), "-o", str(out), "--events", str(ev)]) == 0
    doc = json.loads(ev.read_text())
    assert doc["channels"]["vmo"]["onsets_s"] == pytest.approx([1.0], abs=0.01)
    assert main(["emg", str(tmp_path / "missing.csv"), "-o", str(out)]) == 2
    assert "no such file" in capsys.readouterr().err


def test_edf_and_bdf_round_trip_real_emg(tmp_path):
    """Real PLUX EMG written as EDF (16 bit) and BDF (24 bit) by pyedflib, an independent writer, is
    read back by movekit at its rate, in microvolts, within the files' quantisation step; a mixed
    file keeps the EMG channels at one rate and leaves the others out; pyedflib's own test file reads."""
    import pyedflib

    from movekit.datasets import fetch

    sig = read_emg(fetch("plux_emg_bursts"))
    n = int(4 * sig.rate_hz)
    x = sig.data_uv[:n]
    for suffix, ftype in ((".edf", pyedflib.FILETYPE_EDFPLUS), (".bdf", pyedflib.FILETYPE_BDFPLUS)):
        path = tmp_path / f"emg{suffix}"
        w = pyedflib.EdfWriter(str(path), x.shape[1] + 1, file_type=ftype)
        hdr = []
        for i, name in enumerate(sig.channel_names):
            lo, hi = float(np.floor(x[:, i].min())) - 1, float(np.ceil(x[:, i].max())) + 1
            hdr.append({"label": str(name), "dimension": "uV", "sample_frequency": sig.rate_hz,
                        "physical_min": lo, "physical_max": hi, "digital_min": -32768, "digital_max": 32767})  # fmt: skip
        hdr.append({"label": "acc", "dimension": "g", "sample_frequency": 100, "physical_min": -2,
                    "physical_max": 2, "digital_min": -32768, "digital_max": 32767})  # fmt: skip
        w.setSignalHeaders(hdr)
        w.writeSamples([x[:, i] for i in range(x.shape[1])] + [np.zeros(n * 100 // int(sig.rate_hz))])
        w.close()
        back = read_emg(path)
        assert back.rate_hz == sig.rate_hz and back.channel_names == tuple(sig.channel_names)
        step = max((h["physical_max"] - h["physical_min"]) / 65535 for h in hdr[:-1])
        assert np.max(np.abs(back.data_uv[:n] - x)) <= step
        assert len(back.t_s) == n and back.t_s[1] == pytest.approx(1 / sig.rate_hz)
    gen = read_emg(Path(pyedflib.__file__).parent / "data" / "test_generator.edf")
    assert gen.rate_hz == 200.0 and "sine 1 Hz" in gen.channel_names
    bad = tmp_path / "bad.edf"
    bad.write_bytes(b"0       " + bytes(300))
    with pytest.raises(MovekitError, match="bad.edf"):
        read_emg(bad)
