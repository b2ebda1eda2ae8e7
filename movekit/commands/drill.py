"""``movekit drill NAME SOURCE...``: a guided drill, live or on a recording."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from movekit.argtypes import float_range, positive_seconds
from movekit.commands.capture import PERSON_HELP
from movekit.errors import MovekitError
from movekit.store import add_db_argument


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "drill",
        help="run a guided drill (spoken steps, reps, holds, cues) live or on a recording",
        description="Run a drill protocol. SOURCE is a recording (*.mkrec: replays it and issues the "
        "same cues at the same times as the live run), EMG files (CSV/HDF5: run on them), or "
        "live: a webcam index or video file for pose, optionally with EMG files played as "
        "live devices (--emg-live). Shipped drills: see --list.",
    )
    p.add_argument("name", nargs="?", help="drill name (see --list) or a protocol .toml file")
    p.add_argument("sources", nargs="*", metavar="SOURCE", help="recording, EMG file(s), webcam index or video")
    p.add_argument("--list", action="store_true", help="list the shipped drills and exit")
    p.add_argument("--side", choices=("left", "right"), help="side of the drill's {side} leg")
    p.add_argument("--mvc", metavar="MVC_FILE", help="MVC trial (CSV/HDF5/recording) for %%MVC metrics")
    p.add_argument(
        "--channel",
        action="append",
        default=[],
        metavar="ROLE=NAME",
        help="use EMG channel NAME as ROLE (vmo, vl, core), e.g. --channel core=ch1",
    )
    p.add_argument(
        "--rate",
        type=float_range(0.0, 100_000.0, lo_open=True, unit="Hz"),
        help="EMG sampling rate for files without time_s",
    )
    p.add_argument("--audio-out", metavar="CUES.wav", help="write every sound at its session time to a WAV")
    p.add_argument("--no-sound", action="store_true", help="do not use the sound device")
    p.add_argument("--no-speech", action="store_true", help="tones only (no espeak-ng)")
    p.add_argument("--log", metavar="EVENTS.jsonl", help="write every drill event as JSON lines")
    p.add_argument("-o", "--output", metavar="OUT.mkrec", help="live: the recording to write")
    p.add_argument(
        "--lsl",
        action="store_true",
        help="publish pose, live angles with their errors, devices, EMG envelopes and events as Lab Streaming Layer outlets (pip install movekit[lsl])",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing recording, log or WAV of the same kind (never an input)",
    )
    p.add_argument("--duration", type=positive_seconds, metavar="S", help="live: stop after S seconds")
    p.add_argument("--model-complexity", type=int, choices=(0, 1, 2), default=1, help="live pose model")
    p.add_argument("--person", metavar="WHO", help="live: " + PERSON_HELP)
    p.add_argument(
        "--ble",
        action="append",
        default=[],
        metavar="ADDRESS:PROFILE[@LABEL]",
        help="live: a BLE device to stream from (as movekit capture --ble); EMG streams feed the drill",
    )
    p.add_argument(
        "--emg-live", action="store_true", help="live: play the EMG file sources in real time as if they were devices"
    )
    p.add_argument("--quiet", action="store_true", help="print only the set summaries")
    p.add_argument("--client", help="log the run in this client's home program (when the drill is assigned)")
    add_db_argument(p)
    p.set_defaults(func=run)


def _rename(pairs: list[str]) -> dict[str, str]:
    out = {}
    for p in pairs:
        if "=" not in p:
            raise MovekitError(f"--channel must be ROLE=NAME, got {p!r}")
        role, name = p.split("=", 1)
        out[name.strip()] = role.strip()
    return out


def _check_channels(rename: dict[str, str], available: list[str], where: str) -> None:
    """Every NAME of --channel ROLE=NAME must be an EMG channel of the sources (in place: a NAME
    given with its unit suffix, as in a CSV header like ``emg3_uv``, is matched without it)."""
    for name in list(rename):
        if name in available:
            continue
        bare = name.lower().removesuffix("_uv").removesuffix("_mv")
        if bare in available:
            rename[bare] = rename.pop(name)
            continue
        raise MovekitError(
            f"--channel {rename[name]}={name}: no EMG channel named {name!r} in {where} "
            f"(its channels: {', '.join(available) or 'none'})"
        )


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
                what = (
                    f"hold {ev['hold_s']:.1f}/{ev['hold_target_s']:g} s{norm}, "
                    f"{ev['time_in_target_pct']:.0f}% of the set in target"
                )
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
    _check_outputs(args)
    rename = _rename(args.channel)
    live_pose = [
        s for s in args.sources if s.isdigit() or (Path(s).suffix.lower() in (".mp4", ".avi", ".mov", ".mkv", ".webm"))
    ]
    recs = [s for s in args.sources if Path(s).is_dir()]
    files = [s for s in args.sources if s not in live_pose and s not in recs]
    for f in files:
        if not Path(f).exists():
            raise MovekitError(f"{f}: no such file, recording or camera")
    if args.person is not None and not live_pose:
        raise MovekitError(
            "--person applies to a webcam or video source; a recording's person was chosen when it was captured"
        )
    if live_pose or args.emg_live or args.ble:
        return _run_live(args, live_pose, files, rename)
    if len(recs) > 1 or (recs and files):
        raise MovekitError("give one recording, or EMG files, to run a drill on")
    from movekit.feedback.audio import CueAudio
    from movekit.protocols.session import (
        compare_cues,
        replay_drill,
        stored_drill_settings,
    )

    if recs:
        from movekit.recording import open_recording

        rec = open_recording(recs[0])
    else:
        rec = _file_recording(files, args.rate)
    _check_channels(
        rename,
        [c for st in rec.streams.values() if st.spec.kind == "emg" for c in (st.spec.channel_names or ())],
        recs[0] if recs else ", ".join(files),
    )
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
        return 0 if ok else 1  # a replay of a logged live run is not logged again
    _log_to_program(args, protocol.name, runner.events)
    return 0


def _check_outputs(args) -> None:
    """The output policy for -o, --log and --audio-out, before anything runs."""
    from movekit.outputs import JSON, RECORDING, OutputKind, check_output

    inputs = [*args.sources, args.mvc, args.name if Path(args.name).exists() else None]
    if args.output:
        check_output(args.output, RECORDING, overwrite=args.overwrite, inputs=inputs)
    if args.log:
        check_output(args.log, JSON, overwrite=args.overwrite, inputs=[*inputs, args.output], flag="--log")
    if args.audio_out:
        check_output(
            args.audio_out,
            OutputKind("WAV file", (".wav",)),
            overwrite=args.overwrite,
            inputs=[*inputs, args.output, args.log],
            flag="--audio-out",
        )


def _write_log(path: str, events: list[dict]) -> None:
    from movekit.outputs import write_output

    write_output(path, "".join(json.dumps(e, allow_nan=True) + "\n" for e in events))


class _LiveDrill:
    """A drill run inside a capture (:class:`movekit.capture.pipeline.CaptureObserver`): pose frames
    from the capture, EMG from BLE devices or from files played in real time."""

    def __init__(self, args, protocol, mvc, emg_files, rename, audio, show, pose: bool) -> None:
        from movekit.emg_io import read_emg
        from movekit.protocols.session import EMGSourceSpec

        self.args, self.protocol, self.mvc, self.rename = args, protocol, mvc, rename
        self.audio, self.show, self.pose = audio, show, pose
        self.emg = [read_emg(f, args.rate) for f in emg_files]
        if emg_files and not args.ble:
            _check_channels(rename, [c for e in self.emg for c in e.channel_names], ", ".join(emg_files))
        self.specs = [
            EMGSourceSpec(f"emgfile{i}", s.rate_hz, [rename.get(c, c) for c in s.channel_names], s.channel_names)
            for i, s in enumerate(self.emg)
        ]
        self.session = None
        self.writer = None
        self.ble_index: dict[str, int] = {}
        self.pos = [0] * len(self.emg)
        self.t_now = 0.0

    def on_chunk(self, ch) -> None:  # BLE thread
        k = self.ble_index.get(ch.stream)
        if k is not None and self.session is not None:
            self.session.push_emg(k, ch.t_s, ch.data)

    def start(self, writer, clock, ble) -> None:
        from movekit.protocols.session import DrillSession, EMGSourceSpec
        from movekit.recording import StreamSpec

        self.writer = writer
        writer.update_metadata(drill=self.protocol.name)
        for sp in ble.stream_specs() if ble is not None else []:
            if sp.kind == "emg":
                chans = sp.channel_names or tuple(f"ch{i}" for i in range(sp.shape[0]))
                self.specs.append(
                    EMGSourceSpec(sp.name, float(sp.rate_hz), [self.rename.get(c, c) for c in chans], chans)
                )
        session = DrillSession(
            self.protocol,
            self.specs,
            pose=self.pose,
            mvc_uv=self.mvc,
            writer=writer,
            audio=self.audio,
            on_event=self.show,
            record_emg=False,
        )
        self.order = [sp.stream for sp in session.emg]
        for sp in session.emg:  # file streams are recorded here; BLE streams by the BleRecorder
            if sp.stream.startswith("emgfile"):
                writer.add_stream(
                    StreamSpec(
                        sp.stream,
                        (len(sp.channel_names),),
                        "uV",
                        sp.rate_hz,
                        tuple(sp.device_channel_names),
                        kind="emg",
                    )
                )
            else:
                self.ble_index[sp.stream] = self.order.index(sp.stream)
        for n in session.runner.notices:
            print(f"movekit: notice: {n}", file=sys.stderr)
        self.session = session

    def pump_files(self, until_s: float) -> None:
        for i, s in enumerate(self.emg):
            k = self.order.index(f"emgfile{i}")
            j = int(np.searchsorted(s.t_s, until_s, side="right"))
            if j > self.pos[i]:
                x32 = s.data_uv[self.pos[i] : j].astype(np.float32)
                self.writer.append(f"emgfile{i}", s.t_s[self.pos[i] : j], x32)
                self.session.push_emg(k, s.t_s[self.pos[i] : j], x32)
                self.pos[i] = j
                if j >= len(s.t_s):
                    self.session.finish_source(k)

    def frame(self, t_s: float, est) -> bool:
        self.t_now = t_s
        self.pump_files(t_s)
        self.session.push_pose(t_s, est.image_px, est.visibility)
        return self.session.runner.done

    def stop(self, t_s: float) -> None:
        if self.session is None:
            return
        self.t_now = max(self.t_now, t_s) if t_s == t_s else self.t_now
        self.session.close(self.t_now)
        self.audio.close()
        if self.session.late_dropped:
            print(
                f"movekit: notice: {self.session.late_dropped} samples arrived too late to feed in time order "
                "(a device stalled); a replay may differ there",
                file=sys.stderr,
            )
        if self.session.latencies_s:
            lat = np.array(self.session.latencies_s) * 1e3
            self.writer.update_metadata(
                drill_cue_latency_ms={
                    "p50": float(np.percentile(lat, 50)),
                    "p95": float(np.percentile(lat, 95)),
                    "n": len(lat),
                }
            )


def _run_live(args, cameras: list[str], emg_files: list[str], rename: dict[str, str]) -> int:
    """Live: pose from a webcam/video (through ``movekit capture``), EMG from BLE devices (--ble) or
    files played in real time."""
    from movekit.capture.clock import SessionClock
    from movekit.feedback.audio import CueAudio
    from movekit.protocols.runner import load_protocol
    from movekit.recording import RecordingWriter

    if len(cameras) > 1:
        raise MovekitError("one camera or video at a time")
    if not args.output:
        raise MovekitError("a live drill needs -o OUT.mkrec for its recording")
    if not (cameras or emg_files or args.ble):
        raise MovekitError("a live drill needs a camera, --ble devices or EMG files with --emg-live")
    protocol = load_protocol(args.name, side=args.side)
    mvc = _mvc(args, rename)
    audio = CueAudio(play=not args.no_sound, wav=bool(args.audio_out), speech=not args.no_speech)
    drill = _LiveDrill(args, protocol, mvc, emg_files, rename, audio, _printer(args.quiet), pose=bool(cameras))
    meta = {"source_files": {"emg_files": emg_files, "ble": args.ble}, "drill": protocol.name}
    lsl = None
    if getattr(args, "lsl", False):
        from movekit.lsl import LslPublisher

        lsl = LslPublisher(Path(args.output).name if args.output else "drill")
    if cameras:
        from movekit.capture.pipeline import capture

        capture(
            cameras[0],
            args.output,
            duration_s=args.duration,
            model_complexity=args.model_complexity,
            overwrite=args.overwrite,
            metadata=meta,
            keys=False,
            ble=args.ble,
            ble_options={"on_chunk": drill.on_chunk},
            observer=drill,
            realtime=True,
            person=args.person,
            lsl=lsl,
        )
    else:
        clock = SessionClock()
        with RecordingWriter(args.output, meta, overwrite=args.overwrite) as writer:
            if lsl is not None:  # devices, EMG and cues go out through the writer
                lsl.anchor(clock.now())
                writer = lsl.tee(writer)
            ble = None
            if args.ble:
                from movekit.capture.ble.transport import BleRecorder

                ble = BleRecorder(args.ble, writer, clock=clock, on_chunk=drill.on_chunk)
            drill.start(writer, clock, ble)
            if ble is not None:
                ble.start()
            end = max([float(s.t_s[-1]) for s in drill.emg], default=np.inf)
            t_now = 0.0
            try:
                while t_now < end and not drill.session.runner.done:
                    time.sleep(0.01)
                    t_now = clock.now()
                    if args.duration and t_now > args.duration:
                        break
                    drill.pump_files(t_now)
            except KeyboardInterrupt:
                print("movekit: drill stopped", file=sys.stderr)
            finally:
                if ble is not None:
                    ble.stop()
                drill.stop(t_now)
    t_now = drill.t_now
    if args.audio_out:
        audio.write_wav(args.audio_out, end_s=t_now + 1.0)
    if args.log:
        _write_log(args.log, drill.session.runner.events)
    _log_to_program(args, protocol.name, drill.session.runner.events)
    return 0


def _log_to_program(args, drill_id: str, events: list[dict]) -> None:
    """With --client: log this run in the client's home program (when the drill is assigned)."""
    if not args.client:
        return
    from movekit.program import drill_summary, log_guided_drill
    from movekit.store import store_from_args

    sets = [e for e in events if e.get("kind") == "set_summary"]
    if not sets:
        print(
            f"movekit: notice: the drill stopped before its first set; nothing was logged for {args.client}",
            file=sys.stderr,
        )
        return
    summary = drill_summary(sets)
    with store_from_args(args) as store:
        log_id = log_guided_drill(store, args.client, drill_id, **summary)
    if log_id is None:
        print(
            f"movekit: notice: {drill_id} is not in {args.client}'s home program; nothing was logged", file=sys.stderr
        )
    else:
        done = [f"{summary['sets']} set(s)"] + ([f"{summary['reps']} rep(s)"] if summary["reps"] else [])
        print(
            f"logged in {args.client}'s home program: "
            + ", ".join(done + ([summary["notes"]] if summary["notes"] else []))
        )
