"""Goniometer angles from two sensor orientations with known joint angles; imufusion fusion."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from movekit.analysis import imu_orientation as io
from movekit.errors import MovekitError


def _world(rate, theta_deg, axis_seg, seed=0, mount_seed=1):
    """Sensor orientations for a hinge with a known angle, arbitrary mounting and trunk motion."""
    n = len(theta_deg)
    mr = np.random.default_rng(mount_seed)
    Mp, Md = Rotation.random(random_state=mr), Rotation.random(random_state=mr)
    t = np.arange(n) / rate
    seg_p = Rotation.from_euler(
        "ZYX", np.column_stack([30 * np.sin(0.3 * t), 10 * np.sin(0.5 * t), 5 * np.cos(0.7 * t)]), degrees=True
    )
    H = Rotation.from_rotvec(np.radians(theta_deg)[:, None] * (axis_seg / np.linalg.norm(axis_seg)))
    Sp = seg_p * Mp
    Sd = seg_p * H * Md
    q = lambda r: io._quat(r)
    return q(Sp), q(Sd)


@pytest.mark.parametrize("joint", ["knee_flexion", "elbow_flexion", "lumbar_flexion"])
def test_known_joint_angles_recovered(joint, tmp_path):
    rate = 100.0
    axis = np.array([1.0, 0.2, -0.1])
    static = np.zeros(200)
    func = 60 * (1 - np.cos(np.linspace(0, 6 * np.pi, 900)))  # three flexions 0..120
    sp, sd = _world(rate, static, axis)
    fp, fd = _world(rate, func, axis, seed=2)
    cal = io.calibrate(joint, sp, sd, fp, fd)
    assert cal.axis_residual_deg < 0.01
    truth = np.concatenate([np.linspace(-10, 135, 300), 20 * np.sin(np.linspace(0, 9, 300))])
    tp, td = _world(rate, truth, axis, seed=3)
    est = io.joint_angle_deg(tp, td, cal)
    assert np.abs(est - truth).max() < 1e-6
    path = io.save_calibration(cal, f"test_{joint}", tmp_path)
    assert io.load_calibration(path).axis_proximal == pytest.approx(cal.axis_proximal)


def test_static_zero_absorbs_mounting_offset_and_sign_is_flexion_positive():
    rate = 50.0
    axis = np.array([0.0, 1.0, 0.0])
    sp, sd = _world(rate, np.full(50, 0.0), axis)
    fp, fd = _world(rate, np.concatenate([np.linspace(0, 90, 100), np.linspace(90, 0, 100)]), axis)
    cal = io.calibrate("knee_flexion", sp, sd, fp, fd)
    tp, td = _world(rate, np.array([45.0, -5.0]), axis)
    assert io.joint_angle_deg(tp, td, cal) == pytest.approx([45.0, -5.0], abs=1e-6)


def test_functional_calibration_without_movement_is_a_clear_error():
    sp, sd = _world(50.0, np.zeros(100), np.array([1.0, 0, 0]))
    with pytest.raises(MovekitError, match="moved less than"):
        io.calibrate("knee_flexion", sp, sd, sp, sd)


def test_imufusion_tilt_and_euler_roundtrip():
    rate = 100.0
    tilt = Rotation.from_euler("x", 30, degrees=True)
    acc = tilt.inv().apply([0, 0, 1.0])  # gravity reaction seen by a still, tilted sensor (g)
    q = io.fuse_orientation(np.zeros((400, 3)), np.tile(acc, (400, 1)), rate)
    assert io.segment_inclination_deg(q[-1:], (0, 0, 1))[0] == pytest.approx(30.0, abs=0.5)
    e = np.array([[10.0, -20.0, 30.0]])
    assert io.quat_to_euler_zyx_deg(io.quat_from_euler_zyx_deg(*e.T)) == pytest.approx(e)


def test_elbow_goniometer_through_bleak_from_real_goniometer_trace():
    """Two simulated WitMotion IMUs moved by a real PLUX goniometer trace, read through bleak and the
    mock BlueZ; the joint angle from the received bytes matches the known angle."""
    import asyncio

    from movekit.capture.ble import transport as tr
    from movekit.capture.ble.mock_bluez import PrivateSystemBus, start_mock
    from movekit.capture.ble.simulate import SimulatedWitMotion, elbow_pair_from_plux_goniometer

    up, fo, theta, rate = elbow_pair_from_plux_goniometer(rate_out=200.0)
    k0 = 250  # skip most of the still start: a little stillness, then flexion
    up = {k: v[k0:] for k, v in up.items()}
    fo = {k: v[k0:] for k, v in fo.items()}
    theta = theta[k0:]
    got = {}

    async def main():
        mock = await start_mock()
        a = SimulatedWitMotion("C0:FF:EE:00:00:01", up["acc"], up["gyro"], up["angle"], rate, loop=False)
        b = SimulatedWitMotion("C0:FF:EE:00:00:02", fo["acc"], fo["gyro"], fo["angle"], rate, loop=False)
        mock.add(a)
        mock.add(b)
        stop = asyncio.Event()

        def on_chunk(c):
            got.setdefault(c.stream, []).append(c)

        task = asyncio.create_task(
            tr.run_ble_devices(
                [f"{a.address}:witmotion@upper_arm,rate=200", f"{b.address}:witmotion@forearm,rate=200"],
                on_chunk,
                lambda e: None,
                stop,
                scan_timeout_s=1.0,
            )
        )
        t0 = asyncio.get_running_loop().time()
        while sum(len(c.t_s) for c in got.get("forearm_angle", [])) < 350:
            await asyncio.sleep(0.02)
            assert asyncio.get_running_loop().time() - t0 < 10
        stop.set()
        await task
        await mock.stop()
        return a, b

    with PrivateSystemBus(set_env=True):
        a, b = asyncio.run(main())

    def cat(name):
        cs = got[name]
        return np.concatenate([c.t_s for c in cs]), np.concatenate([c.data for c in cs]).astype(float)

    tp, ep = cat("upper_arm_angle")
    td, ed = cat("forearm_angle")
    n = min(len(tp), len(td))
    qp = io.quat_from_euler_zyx_deg(*ep[:n].T)
    qd = io.quat_from_euler_zyx_deg(*ed[:n].T)
    truth = theta[:n]
    still = truth <= truth.min() + 0.5  # the static zero: the most extended posture in the trace
    cal = io.calibrate("elbow_flexion", qp[still], qd[still], qp, qd)
    est = io.joint_angle_deg(qp, qd, cal)  # sample k of both devices is the same instant of the trace
    expect = truth - truth[still].mean()
    assert np.ptp(truth) > 20  # the real trace moves
    assert np.abs(est - expect).max() < 0.5  # Euler angles quantised to 180/32768 deg; zero within 0.5 deg
    t, ang = io.joint_angle_from_imus(tp[:n], qp, td[:n], qd, cal)  # on the session clock
    ok = np.isfinite(ang)
    assert ok.mean() > 0.9, (tp[0], tp[n - 1], td[0], td[n - 1], np.diff(tp).max(), np.diff(td).max())
