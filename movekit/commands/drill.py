"""``movekit drill NAME SOURCE...``: a guided drill, live or on a recording."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from movekit.errors import MovekitError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "drill", help="run a guided drill (spoken steps, reps, holds, cues) live or on a recording",
        description="Run a drill protocol. SOURCE is a recording (*.mkrec: replays it and issues the "
                    "same cues at the same times as the live run), EMG files (CSV/HDF5: run on them), or "
                    "live: a webcam index or video file for pose, optionally with EMG files played as "
                    "live devices (--emg-live). Shipped drills: see --list.")
    p.add_argument("name", nargs="?", help="drill name (see --list) or a protocol .toml file")
    p.add_argument("sources", nargs="*", metavar="SOURCE", help="recording, EMG file(s), webcam index or video")
    p.add_argument("--list", action="store_true", help="list the shipped drills and exit")
    p.add_argument("--side", choices=("left", "right"), help="side of the drill's {side} leg")
    p.add_argument("--mvc", metavar="MVC_FILE", help="MVC trial (CSV/HDF5/recording) for %%MVC metrics")
    p.add_argument("--channel", action="append", default=[], metavar="ROLE=NAME",
                   help="use EMG channel NAME as ROLE (vmo, vl, core), e.g. --channel core=ch1")
    p.add_argument("--rate", type=float, help="EMG sampling rate for files without time_s")
    p.add_argument("--audio-out", metavar="CUES.wav", help="write every sound at its session time to a WAV")
    p.add_argument("--no-sound", action="store_true", help="do not use the sound device")
    p.add_argument("--no-speech", action="store_true", help="tones only (no espeak-ng)")
    p.add_argument("--log", metavar="EVENTS.jsonl", help="write every drill event as JSON lines")
    p.add_argument("-o", "--output", metavar="OUT.mkrec", help="live: the recording to write")
    p.add_argument("--overwrite", action="store_true", help="live: replace an existing recording")
    p.add_argument("--duration", type=float, metavar="S", help="live: stop after S seconds")
    p.add_argument("--model-complexity", type=int, choices=(0, 1, 2), default=1, help="live pose model")
    p.add_argument("--ble", action="append", default=[], metavar="ADDRESS:PROFILE[@LABEL]",
                   help="live: a BLE device to stream from (as movekit capture --ble); EMG streams feed the drill")
    p.add_argument("--emg-live", action="store_true",
                   help="live: play the EMG file sources in real time as if they were devices")
    p.add_argument("--quiet", action="store_true", help="print only the set summaries")
    p.set_defaults(func=run)


def _rename(pairs: list[str]) -> dict[str, str]:
    out = {}
    for p in pairs:
        if "=" not in p:
            raise MovekitError(f"--channel must be ROLE=NAME, got {p!r}")
        role, name = p.split("=", 1)
        out[name.strip()] = role.strip()
    return out


def _mvc(args, rename: dict[str, str]) -> dict[str, float] | None:
    if not args.mvc:
        return None
    from movekit.analysis.emg import mvc_reference
    from movekit.emg_io import read_emg

    m = read_emg(args.mvc, args.rate)
    ref = mvc_reference(m.data_uv, m.rate_hz)
    return {rename.get(c, c): float(v) for c, v in zip(m.channel_names, ref)}


def _printer(quiet: bool):
    def show(ev: dict) -> None:
        kind, t = ev["kind"], ev["t_s"]
        if kind == "set_summary":
            if ev.get("reps_target") is not None:
                what = f"{ev['reps']}/{ev['reps_target']} reps"
            else:
                norm = f", norm {ev['norm_s']:g} s" if ev.get("norm_s") else ""
                what = (f"hold {ev['hold_s']:.1f}/{ev['hold_target_s']:g} s{norm}, "
                        f"{ev['time_in_target_pct']:.0f}% of the set in target")
            cues = ", ".join(f"{k} x{v}" for k, v in ev["cues"].items()) or "no cues"
            print(f"[{t:8.2f} s] set {ev['set']}/{ev['of']} of {ev['step']}: {what} ({ev['reason']}); {cues}")
            return
        if quiet:
            return
        if kind == "cue":
            vals = ", ".join(f"{k}={v:.3g}" for k, v in ev["values"].items())
            print(f"[{t:8.2f} s] cue {ev['id']} ({ev['cue_kind']}): {ev.get('say') or 'tone'}  [{ev['why']}; {vals}]")
        elif kind in ("step_start", "rep", "hold_complete", "hold_break", "drill_end", "rest_start"):
            extra = ev.get("say") or ""
            if kind == "hold_break":
                extra = f"held {ev['hold_s']:.1f} s"
            if kind == "drill_end":
                extra = "completed" if ev.get("completed") else f"stopped in {ev.get('stopped_in')}"
            print(f"[{t:8.2f} s] {kind.replace('_', ' ')}: {extra}")
    return show


def _file_recording(paths: list[str], rate: float | None):
    """EMG files as an in-memory recording (one stream per file)."""
    from movekit.emg_io import read_emg
    from movekit.recording import Recording, Stream, StreamSpec

    streams = {}
    for i, p in enumerate(paths):
        s = read_emg(p, rate)
        name = f"emg{i}" if len(paths) > 1 else "emg"
        spec = StreamSpec(name, (len(s.channel_names),), "uV", s.rate_hz, s.channel_names, kind="emg")
        streams[name] = Stream(spec, s.t_s, s.data_uv.astype(np.float32))
    return Recording(Path(paths[0]), {}, streams, [], [])


def run(args: argparse.Namespace) -> int:
    from movekit.protocols.runner import load_protocol, shipped_drills

    if args.list:
        for n in shipped_drills():
            p = load_protocol(n)
            print(f"{n:22s} {p.title} (view: {p.view or 'any'}; EMG: {', '.join(p.emg_channels) or 'none'})")
        return 0
    if not args.name or not (args.sources or args.ble):
        raise MovekitError("give a drill NAME and at least one SOURCE (or --list)")
    rename = _rename(args.channel)
    live_pose = [s for s in args.sources if s.isdigit() or (Path(s).suffix.lower() in (".mp4", ".avi", ".mov", ".mkv", ".webm"))]
    recs = [s for s in args.sources if Path(s).is_dir()]
    files = [s for s in args.sources if s not in live_pose and s not in recs]
    for f in files:
        if not Path(f).exists():
            raise MovekitError(f"{f}: no such file, recording or camera")
    if live_pose or args.emg_live or args.ble:
        return _run_live(args, live_pose, files, rename)
    if len(recs) > 1 or (recs and files):
        raise MovekitError("give one recording, or EMG files, to run a drill on")
    from movekit.feedback.audio import CueAudio
    from movekit.protocols.session import compare_cues, replay_drill, stored_drill_settings

    if recs:
        from movekit.recording import open_recording

        rec = open_recording(recs[0])
    else:
        rec = _file_recording(files, args.rate)
    stored = stored_drill_settings(rec)
    side = args.side or stored.get("side")
    protocol = load_protocol(args.name, side=side)
    mvc = _mvc(args, rename)
    if mvc is None and stored.get("mvc_uv"):
        mvc = {k: float(v) for k, v in stored["mvc_uv"].items()}
    if not rename and stored.get("emg_channels"):
        for sname, roles in stored["emg_channels"].items():
            s = rec.streams.get(sname)
            if s is not None and s.spec.channel_names:
                rename.update({d: r for d, r in zip(s.spec.channel_names, roles)})
    audio = None
    if args.audio_out:
        audio = CueAudio(play=False, wav=True, speech=not args.no_speech)
    show = _printer(args.quiet)
    runner = replay_drill(rec, protocol, mvc, rename, audio=audio, on_event=show)
    for n in runner.notices:
        print(f"movekit: notice: {n}", file=sys.stderr)
    if args.audio_out:
        end = max((e["t_s"] for e in runner.events), default=0.0) + 2.0
        audio.write_wav(args.audio_out, end_s=end)
        print(f"wrote {args.audio_out}", file=sys.stderr)
    if args.log:
        _write_log(args.log, runner.events)
    if stored.get("drill") == protocol.name and stored.get("side") == protocol.side:
        # the recording holds this drill's live run: its cues must come back exactly
        ok, msg = compare_cues(runner.events, rec.events)
        print(("" if ok else "movekit: warning: ") + msg, file=sys.stderr)
        return 0 if ok else 1
    return 0


def _write_log(path: str, events: list[dict]) -> None:
    try:
        with open(path, "w") as f:
            for e in events:
                f.write(json.dumps(e, allow_nan=True) + "\n")
    except OSError as exc:
        raise MovekitError(f"cannot write {path}: {exc.strerror}") from None


def _run_live(args, cameras: list[str], emg_files: list[str], rename: dict[str, str]) -> int:
    """Live: pose from a webcam/video, EMG from BLE devices (--ble) or files played in real time."""
    from movekit.capture.clock import SessionClock
    from movekit.emg_io import read_emg
    from movekit.feedback.audio import CueAudio
    from movekit.protocols.runner import load_protocol
    from movekit.protocols.session import DrillSession, EMGSourceSpec
    from movekit.recording import RecordingWriter

    if len(cameras) > 1:
        raise MovekitError("one camera or video at a time")
    if not args.output:
        raise MovekitError("a live drill needs -o OUT.mkrec for its recording")
    if not (cameras or emg_files or args.ble):
        raise MovekitError("a live drill needs a camera, --ble devices or EMG files with --emg-live")
    protocol = load_protocol(args.name, side=args.side)
    mvc = _mvc(args, rename)
    emg = [read_emg(f, args.rate) for f in emg_files]
    specs = [EMGSourceSpec(f"emgfile{i}", s.rate_hz, [rename.get(c, c) for c in s.channel_names], s.channel_names)
             for i, s in enumerate(emg)]
    clock = SessionClock()
    audio = CueAudio(play=not args.no_sound, wav=bool(args.audio_out), speech=not args.no_speech)
    show = _printer(args.quiet)
    meta = {"source": {"camera": cameras[0] if cameras else None, "emg_files": emg_files, "ble": args.ble},
            "drill": protocol.name}
    t_now = 0.0
    with RecordingWriter(args.output, meta, overwrite=args.overwrite) as writer:
        ble = None
        ble_index: dict[str, int] = {}
        if args.ble:
            from movekit.capture.ble.transport import BleRecorder

            holder: dict = {}

            def on_chunk(ch) -> None:
                k = ble_index.get(ch.stream)
                if k is not None and "session" in holder:
                    holder["session"].push_emg(k, ch.t_s, ch.data)

            ble = BleRecorder(args.ble, writer, clock=clock, on_chunk=on_chunk)
            for sp in ble.stream_specs():
                if sp.kind == "emg":
                    chans = sp.channel_names or tuple(f"ch{i}" for i in range(sp.shape[0]))
                    specs.append(EMGSourceSpec(sp.name, float(sp.rate_hz), [rename.get(c, c) for c in chans],
                                               chans))
        file_specs = {sp.stream for sp in specs if sp.stream.startswith("emgfile")}
        session = DrillSession(protocol, specs, pose=bool(cameras), mvc_uv=mvc, writer=writer, audio=audio,
                               on_event=show, record_emg=False)
        from movekit.recording import StreamSpec

        for sp in session.emg:  # file streams are recorded here; BLE streams by the BleRecorder
            if sp.stream in file_specs:
                writer.add_stream(StreamSpec(sp.stream, (len(sp.channel_names),), "uV", sp.rate_hz,
                                             tuple(sp.device_channel_names), kind="emg"))
        order = [sp.stream for sp in session.emg]
        ble_index.update({name: order.index(name) for name in order if name not in file_specs})
        if ble is not None:
            holder["session"] = session
            ble.start()
        for n in session.runner.notices:
            print(f"movekit: notice: {n}", file=sys.stderr)
        pos = [0] * len(emg)

        def pump_files(until_s: float) -> None:
            for i, s in enumerate(emg):
                k = order.index(f"emgfile{i}")
                j = int(np.searchsorted(s.t_s, until_s, side="right"))
                if j > pos[i]:
                    x32 = s.data_uv[pos[i]:j].astype(np.float32)
                    writer.append(f"emgfile{i}", s.t_s[pos[i]:j], x32)
                    session.push_emg(k, s.t_s[pos[i]:j], x32)
                    pos[i] = j
                    if j >= len(s.t_s):
                        session.finish_source(k)

        try:
            if cameras:
                from movekit.capture.frames import FrameSource
                from movekit.capture.pipeline import pose_stream_specs
                from movekit.capture.pose import MediaPipePose

                backend = MediaPipePose(model_complexity=args.model_complexity)
                with FrameSource(cameras[0], clock=clock, realtime=True) as src:
                    for spec in pose_stream_specs(src.fps if src.fps == src.fps else None):
                        writer.add_stream(spec)
                    writer.update_metadata(video={"width_px": src.width_px, "height_px": src.height_px})
                    for frame in src:
                        t_now = frame.t_s
                        if args.duration and t_now > args.duration:
                            break
                        est = backend.process(frame.image_bgr)
                        for name, arr in (("pose_image_px", est.image_px), ("pose_world_m", est.world_m),
                                          ("pose_visibility", est.visibility), ("pose_presence", est.presence)):
                            writer.append(name, [t_now], arr[None])
                        pump_files(t_now)
                        session.push_pose(t_now, est.image_px, est.visibility)
                        if session.runner.done:
                            break
                backend.close()
            else:
                end = max([float(s.t_s[-1]) for s in emg], default=np.inf)
                while t_now < end and not session.runner.done:
                    time.sleep(0.01)
                    t_now = clock.now()
                    if args.duration and t_now > args.duration:
                        break
                    pump_files(t_now)
        except KeyboardInterrupt:
            print("movekit: drill stopped", file=sys.stderr)
        finally:
            if ble is not None:
                ble.stop()
        session.close(t_now)
        audio.close()
        if session.late_dropped:
            print(f"movekit: notice: {session.late_dropped} samples arrived too late to feed in time order "
                  "(a device stalled); a replay may differ there", file=sys.stderr)
        if session.latencies_s:
            lat = np.array(session.latencies_s) * 1e3
            writer.update_metadata(drill_cue_latency_ms={"p50": float(np.percentile(lat, 50)),
                                                         "p95": float(np.percentile(lat, 95)), "n": len(lat)})
    if args.audio_out:
        audio.write_wav(args.audio_out, end_s=t_now + 1.0)
    if args.log:
        _write_log(args.log, session.runner.events)
    return 0
