"""Bluetooth LE devices on the session clock: transport, device profiles, clock mapping, simulators.

Public entry points (see :mod:`movekit.capture.ble.transport`)::

    from movekit.capture.ble import BleRecorder, DeviceSpec, run_ble_devices, scan

* ``scan(timeout, name=, service_uuid=, address=)`` -> ``[ScanResult(name, address, rssi, service_uuids, profile)]``
* ``await run_ble_devices(specs, on_chunk, on_event, stop_event, clock=time.perf_counter)``
* ``BleRecorder(specs, writer, clock=...).start()`` ... ``.stop()`` (own thread and event loop)

Tests and demos without a radio: :mod:`.mock_bluez` (private dbus-daemon + mock BlueZ served with
dbus-fast) and :mod:`.simulate` (devices that speak the real bytes, fed from real recordings).
"""

from movekit.capture.ble.transport import (  # noqa: F401
    BleChunk,
    BleDevice,
    BleDeviceGroup,
    BleEvent,
    BleRecorder,
    DeviceSpec,
    ReconnectPolicy,
    ScanResult,
    run_ble_devices,
    scan,
)
