"""``movekit drill NAME SOURCE...``: a guided drill, live or on a recording."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from movekit.argtypes import float_range, positive_seconds
from movekit.clinic.store import add_db_argument
from movekit.commands.capture import PERSON_HELP
from movekit.errors import MovekitError
from movekit.outputs import strict_json


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
    p.add_argument(
        "--mvc",
        metavar="MVC_FILE",
        help="MVC trial (CSV/HDF5/recording) for %%MVC metrics (default with --client: the client's "
        "latest MVC in the clinic database, as the studio's MVC step stores it)",
    )
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
        role, name = (x.strip() for x in p.split("=", 1))
        if name in out and out[name] != role:
            raise MovekitError(f"--channel gives channel {name!r} two roles ({out[name]} and {role}): one each")
        out[name] = role
    return out


def _notice(msg: str) -> None:
    print(f"movekit: notice: {msg}", file=sys.stderr)


def _mvc(args, roles: dict[str, str]) -> dict[str, float] | None:
    """MVC (uV) by muscle: from ``--mvc``, else with ``--client`` the client's latest MVC in the
    clinic database (said in a notice), else None."""
    from movekit.protocols.drill import mvc_from_file

    if args.mvc:
        return mvc_from_file(args.mvc, roles, args.rate)
    if not args.client:
        return None
    from movekit.clinic.store import store_from_args

    with store_from_args(args) as st:
        entry = st.latest_mvc(args.client)
    if entry is None:
        return None
    values = ", ".join(f"{m} {v:.0f} uV" for m, v in entry["mvc_uv"].items())
    _notice(f"MVC of {args.client} from the clinic database ({values}; recorded {entry['recorded_utc'][:10]})")
    return dict(entry["mvc_uv"])


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
                if ev.get("reason"):
                    extra += f": {ev['reason']}"
            print(f"[{t:8.2f} s] {kind.replace('_', ' ')}: {extra}")

    return show


def _sources(args) -> tuple[list[str], list[str], list[str]]:
    """The SOURCE arguments split into live pose (webcam/video), recordings and EMG files."""
    videos = (".mp4", ".avi", ".mov", ".mkv", ".webm")
    live_pose = [s for s in args.sources if s.isdigit() or Path(s).suffix.lower() in videos]
    recs = [s for s in args.sources if Path(s).is_dir()]
    files = [s for s in args.sources if s not in live_pose and s not in recs]
    for f in files:
        if not Path(f).exists():
            raise MovekitError(f"{f}: no such file, recording or camera")
    if args.person is not None and not live_pose:
        raise MovekitError(
            "--person applies to a webcam or video source; a recording's person was chosen when it was captured"
        )
    return live_pose, recs, files


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
    roles = _rename(args.channel)
    live_pose, recs, files = _sources(args)
    _check_client(args)
    if live_pose or args.emg_live or args.ble:
        return _run_live(args, live_pose, files, roles)
    if len(recs) > 1 or (recs and files):
        raise MovekitError("give one recording, or EMG files, to run a drill on")
    live_only = [f for f, given in (("-o", args.output), ("--duration", args.duration)) if given]
    if live_only:
        raise MovekitError(
            f"{' and '.join(live_only)} apply to a live drill (a webcam, a video, --ble or --emg-live); "
            "a drill on a recording or EMG files writes no recording (--log and --audio-out do)"
        )
    return _run_replay(args, recs, files, roles)


def _check_client(args) -> None:
    """With --client: the client exists, before anything runs or is recorded."""
    if not args.client:
        return
    from movekit.clinic.store import store_from_args

    with store_from_args(args, read_only=True) as st:
        st.client(args.client)  # MovekitError naming the client when there is none


def _run_replay(args, recs: list[str], files: list[str], roles: dict[str, str]) -> int:
    """A drill on a recording or EMG files, as fast as possible."""
    from movekit.feedback.audio import CueAudio
    from movekit.protocols.drill import Drill, check_channel_roles, emg_files_recording

    if recs:
        from movekit.recording import open_recording

        rec = open_recording(recs[0])
    else:
        rec = emg_files_recording(files, args.rate)
    emg_names = [c for st in rec.streams.values() if st.spec.kind == "emg" for c in (st.spec.channel_names or ())]
    check_channel_roles(roles, emg_names, recs[0] if recs else ", ".join(files))
    audio = CueAudio(play=False, wav=True, speech=not args.no_speech) if args.audio_out else None
    drill = Drill.for_recording(
        rec,
        args.name,
        side=args.side,
        channel_roles=roles,
        mvc_uv=_mvc(args, roles) if args.mvc or not recs or not _stored_mvc(rec) else None,
        audio=audio,
        on_event=_printer(args.quiet),
        on_notice=_notice,
        client=args.client,
        db=args.db,
    )
    res = drill.replay(rec)
    if args.audio_out:
        audio.write_wav(args.audio_out, end_s=max((e["t_s"] for e in res.events), default=0.0) + 2.0)
        print(f"wrote {args.audio_out}", file=sys.stderr)
    if args.log:
        _write_log(args.log, res.events)
    if res.replay_check is not None:  # the recording holds this drill's live run: its cues must come back
        ok, msg = res.replay_check
        print(("" if ok else "movekit: warning: ") + msg, file=sys.stderr)
        return 0 if ok else 1  # a replay of a logged live run is not logged again
    _report_program(res.program_log)
    return 0


def _stored_mvc(rec) -> bool:
    """Whether a recording holds the MVC its live run used (a replay uses that, for the same cues)."""
    from movekit.protocols.feeder import stored_drill_settings

    return bool(stored_drill_settings(rec).get("mvc_uv"))


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

    write_output(path, "".join(json.dumps(strict_json(e), allow_nan=False) + "\n" for e in events))


def _run_live(args, cameras: list[str], emg_files: list[str], roles: dict[str, str]) -> int:
    """Live: pose from a webcam/video (through ``movekit capture``), EMG from BLE devices (--ble) or
    files played in real time."""
    from movekit.emg_io import read_emg
    from movekit.feedback.audio import CueAudio
    from movekit.protocols.drill import Drill, check_channel_roles

    if len(cameras) > 1:
        raise MovekitError("one camera or video at a time")
    if not args.output:
        raise MovekitError("a live drill needs -o OUT.mkrec for its recording")
    if not (cameras or emg_files or args.ble):
        raise MovekitError("a live drill needs a camera, --ble devices or EMG files with --emg-live")
    from movekit.protocols.runner import load_protocol

    protocol = load_protocol(args.name, side=args.side)
    mvc = _mvc(args, roles)
    audio = CueAudio(play=not args.no_sound, wav=bool(args.audio_out), speech=not args.no_speech)
    emg = [read_emg(f, args.rate) for f in emg_files]
    if emg_files and not args.ble:
        check_channel_roles(roles, [c for e in emg for c in e.channel_names], ", ".join(emg_files))
    drill = Drill(
        protocol,
        channel_roles=roles,
        mvc_uv=mvc,
        audio=audio,
        on_event=_printer(args.quiet),
        on_notice=_notice,
        client=args.client,
        db=args.db,
    )
    meta = {"source_files": {"emg_files": emg_files, "ble": args.ble}, "drill": protocol.name}
    lsl = None
    if getattr(args, "lsl", False):
        from movekit.lsl import LslPublisher

        lsl = LslPublisher(Path(args.output).name if args.output else "drill")
    common = {"emg": emg, "ble": args.ble, "duration_s": args.duration, "overwrite": args.overwrite}
    if cameras:
        opts = {"model_complexity": args.model_complexity, "person": args.person}
        res = drill.run_capture(cameras[0], args.output, metadata=meta, lsl=lsl, **common, **opts)
    else:
        res = drill.run_devices(args.output, metadata=meta, lsl=lsl, **common)
    if args.audio_out:
        audio.write_wav(args.audio_out, end_s=res.t_end_s + 1.0)
    if args.log:
        _write_log(args.log, res.events)
    _report_program(res.program_log)
    return 0


def _report_program(entry) -> None:
    """With --client: say what was logged in the client's home program."""
    if entry is None:
        return
    if entry.status == "logged":
        print(entry.message())
    else:
        _notice(entry.message())
