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


# --- C3D analog channels -------------------------------------------------------------------------


def _py_c3d_analog(path) -> tuple[list[str], np.ndarray]:
    """Labels and (channels, samples) analog values read by py-c3d, an independent reader."""
    import c3d

    with open(path, "rb") as h:
        r = c3d.Reader(h)
        labels = [s.strip() for s in r.analog_labels]
        return labels, np.concatenate([a for _, _, a in r.read_frames()], axis=1)


def test_c3d_analog_emg_real_vicon_file_matches_py_c3d_and_nexus_csv(tmp_path, capsys):
    """The real Vicon C3D (Noraxon EMG in V at 2000 Hz): the 16 EMG channels in uV, the same values
    as py-c3d and as the Nexus CSV export of the same trial (6 significant digits); the six active
    muscles stand out from the ten unconnected channels; ``movekit emg`` runs on it."""
    from movekit.datasets import fetch

    src = fetch("vicon_cmj_emg_c3d")
    s = read_emg(src)
    assert s.rate_hz == 2000.0 and s.data_uv.shape == (16000, 16)
    assert s.channel_names[:3] == ("EMG1.v", "EMG10.v", "EMG11.v") and "Foot Switch1.FS" in s.source
    assert s.t_s[0] == 0.0 and s.t_s[-1] == pytest.approx(15999 / 2000)
    labels, ref = _py_c3d_analog(src)
    cols = [labels.index(c) for c in s.channel_names]
    np.testing.assert_allclose(s.data_uv, ref[cols].T * 1e6, rtol=0, atol=1e-6)
    # Nexus's own CSV of the trial: 'Devices' block, EMG1..EMG6 in V in columns 21..26
    csv_path = fetch("vicon_cmj_emg")
    nexus = np.loadtxt(csv_path, delimiter=",", skiprows=5, max_rows=16000, usecols=range(21, 27), encoding="utf-8-sig")
    mine = s.data_uv[:, [s.channel_names.index(f"EMG{k}.v") for k in range(1, 7)]]
    np.testing.assert_allclose(mine, nexus * 1e6, rtol=2e-5, atol=1e-4)
    sd_uv = s.data_uv.std(axis=0)
    active = [s.channel_names.index(f"EMG{k}.v") for k in range(1, 7)]
    assert sd_uv[active].min() > 100 and np.delete(sd_uv, active).max() < 50
    pick = read_emg(src, channels=["EMG3.v", "Foot Switch1.FS"])
    assert pick.channel_names == ("EMG3.v", "Foot Switch1.FS")
    np.testing.assert_array_equal(pick.data_uv[:, 0], s.data_uv[:, s.channel_names.index("EMG3.v")])
    with pytest.raises(MovekitError, match="'Force.Fz1' is in 'N'"):
        read_emg(src, channels=["Force.Fz1"])
    out, ev = tmp_path / "e.csv", tmp_path / "e.json"
    assert main(["emg", str(src), "--channels", "EMG1.v,EMG3.v", "-o", str(out), "--events", str(ev)]) == 0
    assert out.read_text().splitlines()[0] == "time_s,EMG1.v_envelope_uv,EMG3.v_envelope_uv"
    doc = json.loads(ev.read_text())
    assert doc["rate_hz"] == 2000.0 and len(doc["channels"]["EMG1.v"]["onsets_s"]) >= 1


def _int_c3d(path, values, labels, units, scales, offsets, gen_scale):
    """An integer-format C3D written by py-c3d (point rate 100 Hz, analog 1000 Hz)."""
    import c3d

    w = c3d.Writer(point_rate=100, analog_rate=1000, point_scale=0.1, gen_scale=gen_scale)
    for f in range(values.shape[1] // 10):
        pts = np.zeros((1, 5))
        w.add_frames([(pts, values[:, f * 10 : (f + 1) * 10])])
    w.set_point_labels(["m1"])
    w.set_analog_labels(labels)
    w.set_analog_scales(scales)
    w.set_analog_offsets(offsets)
    unit_str, size = c3d.Writer.pack_labels(units)
    w.analog_group.add_str("UNITS", "units", unit_str, size, len(units))
    with open(path, "wb") as h:
        w.write(h)


def test_c3d_integer_scale_and_signed_offset_per_spec(tmp_path):
    """(stored - OFFSET) * SCALE * GEN_SCALE with a signed OFFSET (C3D user guide): an integer C3D
    from py-c3d's writer reads back within one quantisation step, units to uV, and agrees with
    py-c3d's reader (ezc3d alone drops the sign of a negative offset)."""
    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.2, (2, 400))
    path = tmp_path / "int.c3d"
    _int_c3d(path, x, ["vmo", "vl"], ["mV", "V"], [0.002, 0.004], [100, -50], 0.5)
    s = read_emg(path, channels=["vmo", "vl"])
    step = np.array([0.002, 0.004]) * 0.5
    assert s.rate_hz == 1000.0 and s.data_uv.shape == (400, 2)
    err = np.abs(s.data_uv / np.array([1e3, 1e6]) - x.T)
    assert np.all(err < step)  # py-c3d truncates to the integer step
    _, ref = _py_c3d_analog(path)
    np.testing.assert_allclose(s.data_uv / np.array([1e3, 1e6]), ref.T, atol=1e-9)
    with pytest.raises(MovekitError, match="no analog channel in V, mV or uV"):
        _int_c3d(tmp_path / "force.c3d", x, ["Fz", "Fx"], ["N", "N"], [1, 1], [0, 0], 1.0)
        read_emg(tmp_path / "force.c3d")


def test_c3d_export_round_trip(tmp_path):
    """Real EMG (2 s of the Vicon trial, in uV) in a recording, exported by ``movekit export
    --format c3d`` and read back: same channels (labelled stream.channel), times and values."""
    from movekit.datasets import fetch
    from movekit.recording import RecordingWriter, StreamSpec

    s = read_emg(fetch("vicon_cmj_emg_c3d"), channels=["EMG1.v", "EMG2.v", "EMG3.v"])
    n = 4000
    t, x = s.t_s[:n] + 5.0, s.data_uv[:n]
    rec = tmp_path / "s.mkrec"
    with RecordingWriter(rec, {"source": "test"}) as w:
        w.add_stream(StreamSpec("emg", (3,), "uV", 2000.0, ("e1", "e2", "e3"), kind="emg"))
        for i in range(0, n, 500):
            w.append("emg", t[i : i + 500], x[i : i + 500])
    out = tmp_path / "out.c3d"
    assert main(["export", str(rec), "--format", "c3d", "-o", str(out)]) == 0
    back = read_emg(out)
    assert back.channel_names == ("emg.e1", "emg.e2", "emg.e3") and back.rate_hz == pytest.approx(2000.0)
    assert len(back.t_s) == n
    np.testing.assert_allclose(back.t_s, t, atol=1e-6)
    np.testing.assert_allclose(back.data_uv, x.astype(np.float32), rtol=1e-6, atol=1e-3)


def test_c3d_bad_input(tmp_path, capsys):
    """A truncated C3D, a header-only fragment, and a C3D without analog channels: one clear
    MovekitError each, and ``movekit emg`` writes nothing."""
    import ezc3d

    from movekit.datasets import fetch

    data = fetch("vicon_cmj_emg_c3d").read_bytes()
    trunc = tmp_path / "trunc.c3d"
    trunc.write_bytes(data[:100_000])
    with pytest.raises(MovekitError, match="truncated C3D file: the header announces 16000 analog samples"):
        read_emg(trunc)
    frag = tmp_path / "frag.c3d"
    frag.write_bytes(data[:300])
    with pytest.raises(MovekitError, match="frag.c3d: not a readable C3D file"):
        read_emg(frag)
    c = ezc3d.c3d()
    c["parameters"]["POINT"]["RATE"]["value"] = [100]
    c["parameters"]["POINT"]["LABELS"]["value"] = ["m1"]
    c["data"]["points"] = np.ones((4, 1, 10))
    pts = tmp_path / "points.c3d"
    c.write(str(pts))
    with pytest.raises(MovekitError, match="has no analog channels"):
        read_emg(pts)
    out = tmp_path / "o.csv"
    assert main(["emg", str(trunc), "-o", str(out)]) == 2
    assert "truncated" in capsys.readouterr().err and not out.exists()


# --- OT Bioelettronica ---------------------------------------------------------------------------


def test_otb_mat_real_hdemg_grid(tmp_path):
    """openhdemg's real OTBiolab+ export: 64 HD-EMG channels of vastus lateralis in uV at 2048 Hz
    (decompositions and the force channel left out); the grid's mean RMS follows the recorded
    force (a trapezoid to ~26 %MVC), and ``movekit emg`` processes picked channels."""
    import scipy.io

    from movekit.datasets import fetch

    src = fetch("otb_hdemg_vl")
    s = read_emg(src)
    assert s.rate_hz == 2048.0 and s.data_uv.shape == (66560, 64)
    assert s.channel_names[0] == "vastus_lateralis_1" and s.channel_names[-1] == "vastus_lateralis_64"
    assert s.t_s[0] == 7.0 and s.t_s[-1] == pytest.approx(7.0 + 66559 / 2048)
    assert "11 other channels left out" in s.source
    m = scipy.io.loadmat(str(src))
    raw = m["Data"][0, 0]
    np.testing.assert_array_equal(s.data_uv, raw[:, :64].astype(np.float64))
    force_pct_mvc = raw[:, 74].astype(np.float64)
    win = 2048  # 1 s windows
    k = len(force_pct_mvc) // win
    rms_uv = np.sqrt((s.data_uv[: k * win] ** 2).mean(axis=1)).reshape(k, win).mean(axis=1)
    force = force_pct_mvc[: k * win].reshape(k, win).mean(axis=1)
    assert np.corrcoef(rms_uv, force)[0, 1] > 0.9
    assert 100 < rms_uv[force > 20].mean() < 250 and rms_uv[force < 3].mean() < 40
    out = tmp_path / "otb.csv"
    assert main(["emg", str(src), "--channels", "vastus_lateralis_1,vastus_lateralis_33", "-o", str(out)]) == 0
    table = np.loadtxt(out, delimiter=",", skiprows=1)
    assert table.shape == (66560, 3) and table[0, 0] == 7.0


def test_otb_archive_and_foreign_mat_refused(tmp_path):
    import scipy.io

    for suffix in (".otb+", ".otb4"):
        p = tmp_path / f"x{suffix}"
        p.write_bytes(b"\0" * 1024)
        with pytest.raises(MovekitError, match="export the recording from OTBiolab"):
            read_emg(p)
    other = tmp_path / "other.mat"
    scipy.io.savemat(other, {"emg": np.zeros((10, 2))})
    with pytest.raises(MovekitError, match="not an OTBiolab\\+ MATLAB export: no Data, Time.*variables: emg"):
        read_emg(other)
    v73 = tmp_path / "v73.mat"
    v73.write_bytes(b"MATLAB 7.3 MAT-file".ljust(124) + b"\x00\x02IM" + bytes(400))
    with pytest.raises(MovekitError, match="v7.3"):
        read_emg(v73)
    bad = tmp_path / "bad.mat"
    bad.write_bytes(b"MATLAB 5.0 MAT-file".ljust(124) + b"\x00\x01IM" + b"\x07" * 20)
    with pytest.raises(MovekitError, match="bad.mat"):
        read_emg(bad)


def test_c3d_missing_samples_trimmed_at_the_edges_refused_inside(tmp_path):
    import ezc3d

    def write(path, x):
        c = ezc3d.c3d()
        c["parameters"]["POINT"]["RATE"]["value"] = [100]
        c["parameters"]["POINT"]["LABELS"]["value"] = ["m1"]
        c["data"]["points"] = np.ones((4, 1, 10))
        c["parameters"]["ANALOG"]["RATE"]["value"] = [1000]
        c["parameters"]["ANALOG"]["LABELS"]["value"] = ["EMG.vl"]
        c["parameters"]["ANALOG"]["UNITS"]["value"] = ["uV"]
        c["data"]["analogs"] = x.reshape(1, 1, -1)
        c.write(str(path))

    x = np.sin(np.arange(100) / 5.0) * 50
    x[:7] = np.nan
    write(tmp_path / "edge.c3d", x)
    s = read_emg(tmp_path / "edge.c3d")
    assert len(s.t_s) == 93 and s.t_s[0] == pytest.approx(0.007)
    np.testing.assert_allclose(s.data_uv[:, 0], x[7:], atol=1e-4)
    x[50] = np.nan
    write(tmp_path / "inside.c3d", x)
    with pytest.raises(MovekitError, match="missing EMG samples \\(NaN\\) inside the recording, first at 0.0500 s"):
        read_emg(tmp_path / "inside.c3d")


def test_a_rate_against_the_files_times_and_a_dead_channel_are_refused(tmp_path):
    """--rate 2000 on a file whose time_s says 1000 Hz had silently halved every duration; a channel
    with no finite sample (a sensor that recorded nothing) had run a whole drill as 'never braced'."""
    from movekit.emg_io import read_emg
    from movekit.errors import MovekitError

    t = np.arange(2000) / 1000.0
    x = np.sin(t * 50.0)
    ok = tmp_path / "ok.csv"
    np.savetxt(ok, np.column_stack([t, x]), delimiter=",", header="time_s,core_uv", comments="")
    assert read_emg(ok, 1000.0).rate_hz == 1000.0 and read_emg(ok).rate_hz == pytest.approx(1000.0)
    with pytest.raises(MovekitError, match="--rate 2000 Hz disagrees with its time_s column"):
        read_emg(ok, 2000.0)
    dead = tmp_path / "dead.csv"
    np.savetxt(
        dead,
        np.column_stack([t, x, np.full_like(x, np.nan)]),
        delimiter=",",
        header="time_s,core_uv,vmo_uv",
        comments="",
    )
    with pytest.raises(MovekitError, match="channel vmo holds no finite sample"):
        read_emg(dead)
