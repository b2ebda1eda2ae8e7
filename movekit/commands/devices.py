"""``movekit devices scan|simulate|profiles``: Bluetooth LE devices.

* ``movekit devices scan [--timeout S] [--name N] [--service UUID] [--address A]`` lists what is in
  range: name, address, RSSI and the profile movekit would use.
* ``movekit devices simulate [--devices all|witmotion|ganglion|generic_emg] [--seconds S] [--stream S]``
  starts a private D-Bus with a mock BlueZ serving simulated devices (real recordings, real bytes)
  and prints the ``DBUS_SYSTEM_BUS_ADDRESS`` to export in another terminal, where ``movekit devices
  scan`` and ``movekit capture --ble ...`` then reach them through bleak as if they were hardware.
  ``--stream S`` also connects to every simulated device in this process for S seconds and prints
  what arrived (a one-terminal demo).
* ``movekit devices profiles`` lists the device profiles (shipped TOML files and code).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from pathlib import Path

from movekit.argtypes import float_range, positive_seconds, safe_name
from movekit.errors import MovekitError

nonneg_seconds = float_range(0.0, 86400.0, unit="s")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("devices", help="Bluetooth LE devices: scan, simulate, list profiles")
    sub = p.add_subparsers(dest="devices_command", metavar="ACTION")

    s = sub.add_parser("scan", help="list BLE devices in range with the profile movekit would use")
    s.add_argument(
        "--timeout", type=positive_seconds, default=5.0, metavar="S", help="scan time in seconds (default 5)"
    )
    s.add_argument("--name", help="only devices whose name contains this")
    s.add_argument("--service", metavar="UUID", help="only devices advertising this service UUID")
    s.add_argument("--address", help="only this address")
    s.set_defaults(func=_scan)

    m = sub.add_parser("simulate", help="serve simulated devices (real recordings, real bytes) on a private bus")
    m.add_argument(
        "--devices", default="all", choices=["all", "witmotion", "goniometer", "ganglion", "generic_emg", "emg"]
    )
    m.add_argument(
        "--seconds", type=nonneg_seconds, default=0.0, metavar="S", help="stop after S seconds (0: until Ctrl-C)"
    )
    m.add_argument(
        "--stream",
        type=nonneg_seconds,
        default=0.0,
        metavar="S",
        help="also connect to every simulated device here for S seconds and report, then exit",
    )
    m.set_defaults(func=_simulate)

    c = sub.add_parser("calibrate", help="two-IMU goniometer: static zero + functional axis from a recording")
    c.add_argument("recording", help="a .mkrec with both devices' <label>_angle streams")
    c.add_argument("--joint", required=True, choices=["knee_flexion", "elbow_flexion", "lumbar_flexion"])
    c.add_argument("--proximal", required=True, help="label of the proximal sensor (thigh, upper_arm, sacrum)")
    c.add_argument("--distal", required=True, help="label of the distal sensor (shank, forearm, t12_l1)")
    c.add_argument("--static", required=True, metavar="START:END", help="seconds of still, neutral posture")
    c.add_argument(
        "--functional",
        required=True,
        metavar="START:END",
        help="seconds of flexion-extension movements (flexion first)",
    )
    c.add_argument(
        "--name",
        required=True,
        type=safe_name,
        help="calibration name (file imu/NAME.json in your calibration profile folder)",
    )
    c.add_argument(
        "--dir",
        default=None,
        help="where to write (default: imu/ in your calibration profile folder, movekit.calibration.profile_dir())",
    )
    c.set_defaults(func=_calibrate)

    pr = sub.add_parser("profiles", help="list device profiles")
    pr.set_defaults(func=_profiles)
    p.set_defaults(func=lambda a: (p.print_help(), 1)[1])


def _scan(args: argparse.Namespace) -> int:
    from movekit.capture.ble.transport import scan

    if args.timeout <= 0:
        raise MovekitError("--timeout must be > 0")
    results = asyncio.run(scan(args.timeout, args.name, args.service, args.address))
    if not results:
        print(f"no BLE devices found in {args.timeout:g} s")
        return 0
    print(f"{'NAME':<24} {'ADDRESS':<17} {'RSSI':>5}  PROFILE")
    for r in results:
        print(
            f"{(r.name or '?')[:24]:<24} {r.address:<17} {r.rssi if r.rssi is not None else '?':>5}  {r.profile or '-'}"
        )
    return 0


def _profiles(args: argparse.Namespace) -> int:
    from movekit.capture.ble.profiles import available_profiles, get_profile

    for name in available_profiles():
        p = get_profile(name)
        streams = ", ".join(f"{s.suffix} [{s.unit}] x{len(s.channel_names)}" for s in p.streams)
        print(f"{p.name:<14} {p.rate_hz:>7g} Hz  {p.kind:<8} {streams}")
        print(f"{'':<14} {p.description}")
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from movekit.capture.ble.mock_bluez import MockBlueZ, PrivateSystemBus
    from movekit.capture.ble.simulate import demo_devices

    devices = demo_devices(args.devices)
    bus = PrivateSystemBus(set_env=bool(args.stream))
    addr = bus.start()

    async def main() -> int:
        mock = await MockBlueZ(addr).start()
        for d in devices:
            mock.add(d)
        print(f"export DBUS_SYSTEM_BUS_ADDRESS={addr}")
        for d in devices:
            print(f"  {d.name:<18} {d.address}  -> {type(d).__name__}")
        sys.stdout.flush()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):  # pragma: no cover
                pass
        if args.stream:
            await _stream_demo(devices, args.stream)
        elif args.seconds:
            try:
                await asyncio.wait_for(stop.wait(), args.seconds)
            except TimeoutError:
                pass
        else:
            await stop.wait()
        await mock.stop()
        return 0

    try:
        return asyncio.run(main())
    finally:
        bus.stop()


async def _stream_demo(devices, seconds: float) -> None:
    from movekit.capture.ble.simulate import SimulatedGanglion, SimulatedGenericEMG
    from movekit.capture.ble.transport import run_ble_devices

    specs = []
    for d in devices:
        prof = (
            "ganglion"
            if isinstance(d, SimulatedGanglion)
            else "generic_emg"
            if isinstance(d, SimulatedGenericEMG)
            else "witmotion"
        )
        rate = ",rate=50" if prof == "witmotion" else ""
        specs.append(f"{d.address}:{prof}@{d.name.replace('-', '_').lower()}{rate}")
    counts: dict[str, int] = {}
    events = []

    def on_chunk(c) -> None:
        counts[c.stream] = counts.get(c.stream, 0) + len(c.t_s)

    def on_event(e) -> None:
        events.append(e)
        print(f"  [{e.t_s:10.3f}] {e.kind:<20} {e.message}")

    stop = asyncio.Event()
    t0 = time.perf_counter()
    task = asyncio.create_task(run_ble_devices(specs, on_chunk, on_event, stop))
    await asyncio.sleep(seconds)
    stop.set()
    await task
    dt = time.perf_counter() - t0
    for name, n in sorted(counts.items()):
        print(f"  {name:<28} {n:7d} samples  ({n / dt:7.1f} /s over {dt:.1f} s)")


def _span(text: str, what: str) -> tuple[float, float]:
    try:
        a, b = (float(x) for x in text.split(":"))
    except ValueError:
        raise MovekitError(f"--{what} {text!r}: expected START:END in seconds") from None
    if b <= a:
        raise MovekitError(f"--{what} {text!r}: END must be after START")
    return a, b


def _calibrate(args: argparse.Namespace) -> int:
    import numpy as np

    from movekit.analysis import imu_orientation as io
    from movekit.recording import open_recording

    rec = open_recording(args.recording)
    streams = {}
    for label in (args.proximal, args.distal):
        name = f"{label}_angle"
        if name not in rec.streams:
            raise MovekitError(f"{args.recording} has no stream {name!r}; streams: {', '.join(rec.streams)}")
        streams[label] = rec.streams[name]
    sp, sd = streams[args.proximal], streams[args.distal]
    qp = io.quat_from_euler_zyx_deg(*np.asarray(sp.data, float).T)
    qd_all = io.quat_from_euler_zyx_deg(*np.asarray(sd.data, float).T)
    qd = io.resample_quat(sd.t_s, qd_all, sp.t_s)
    t0 = float(sp.t_s[0]) if len(sp.t_s) else 0.0
    rel_t = np.asarray(sp.t_s) - t0

    def pick(span):
        m = (rel_t >= span[0]) & (rel_t <= span[1]) & np.all(np.isfinite(qd), axis=1)
        if m.sum() < 5:
            raise MovekitError(f"too few samples of both sensors between {span[0]:g} and {span[1]:g} s")
        return qp[m], qd[m]

    s_p, s_d = pick(_span(args.static, "static"))
    f_p, f_d = pick(_span(args.functional, "functional"))
    cal = io.calibrate(args.joint, s_p, s_d, f_p, f_d)
    cal.proximal, cal.distal = args.proximal, args.distal
    if args.dir is not None and not Path(args.dir).is_dir():
        raise MovekitError(f"--dir {args.dir}: " + ("not a folder" if Path(args.dir).exists() else "no such folder"))
    path = io.save_calibration(cal, args.name, args.dir)
    print(
        f"{path}: axis {np.round(cal.axis_proximal, 3).tolist()} (proximal sensor frame), "
        f"off-axis residual {cal.axis_residual_deg:.2f} deg"
    )
    if cal.axis_residual_deg > 5:
        print(
            "warning: the movement was not a clean hinge (residual > 5 deg); repeat the calibration "
            "with slower flexion-extension in one plane",
            file=sys.stderr,
        )
    return 0
