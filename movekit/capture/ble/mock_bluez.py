"""A mock BlueZ on a private D-Bus, so the *unmodified* bleak Linux backend can be tested without a radio.

Two parts:

* :class:`PrivateSystemBus` starts our own ``dbus-daemon`` (a system-type bus with a config file of
  ours: one unix socket in a temporary directory, everything allowed) and can point
  ``DBUS_SYSTEM_BUS_ADDRESS`` at it. It never touches the machine's real bus.
* :class:`MockBlueZ` serves ``org.bluez`` on that bus with ``dbus-fast`` (bleak's own pure-Python
  D-Bus library, asyncio). It answers at the D-Bus message level (one handler, one object table) so
  every signal is emitted exactly the way BlueZ does it, in the order bleak expects:

  - ``/``: ``ObjectManager.GetManagedObjects``; ``InterfacesAdded``/``InterfacesRemoved`` from ``/``.
  - adapter ``/org/bluez/hci0`` (``Adapter1``: ``Roles`` includes ``central``, ``Powered``,
    ``Discovering``; ``SetDiscoveryFilter``, ``StartDiscovery``, ``StopDiscovery``, ``RemoveDevice``).
  - devices ``.../dev_XX_XX_XX_XX_XX_XX`` (``Device1``). While discovering, every advertising
    device gets an ``RSSI`` ``PropertiesChanged`` at each advertising interval (bleak reports a device
    only when a signal about it arrives during a scan).
  - ``Connect()``: ``Connected`` true, GATT objects added, then ``ServicesResolved`` true.
    A link loss: ``ServicesResolved`` false, descriptors/characteristics/services removed, then
    ``Connected`` false (this fires bleak's disconnected callback).
  - GATT paths ``<device>/serviceXXXX/charYYYY/descZZZZ`` (bleak takes the handle from the path);
    ``ReadValue``, ``WriteValue``, ``StartNotify``, ``StopNotify``; a notification is a
    ``PropertiesChanged`` of ``Value`` on the characteristic's path.

A device's behaviour lives in :class:`MockPeripheral` (subclass it: the simulated devices in
:mod:`movekit.capture.ble.simulate` do). Failure modes for tests: ``connectable = False`` (Connect
answers an error), ``answers_connect = False`` (Connect never answers), :meth:`MockBlueZ.drop_link`
(link loss mid-stream), ``advertising = False`` (out of range).
"""

from __future__ import annotations

import asyncio
import os
import select
import shutil
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbus_fast import BusType, DBusError, Message, MessageType, Variant
from dbus_fast.aio import MessageBus

from movekit.errors import MovekitError

BLUEZ = "org.bluez"
ADAPTER_PATH = "/org/bluez/hci0"
_UNHANDLED = object()  #: a handler's "not my method": the call is refused as UnknownMethod
OM = "org.freedesktop.DBus.ObjectManager"
PROPS = "org.freedesktop.DBus.Properties"
ADAPTER = "org.bluez.Adapter1"
DEVICE = "org.bluez.Device1"
SERVICE = "org.bluez.GattService1"
CHAR = "org.bluez.GattCharacteristic1"
DESC = "org.bluez.GattDescriptor1"
CCCD_UUID = "00002902-0000-1000-8000-00805f9b34fb"
BATTERY_SERVICE_UUID = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"

_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow eavesdrop="true"/>
  </policy>
  <limit name="max_incoming_bytes">1000000000</limit>
  <limit name="max_outgoing_bytes">1000000000</limit>
  <limit name="max_message_size">100000000</limit>
</busconfig>
"""


def full_uuid(uuid: str) -> str:
    """``"ffe4"`` or ``"0000ffe4"`` -> the 128-bit Bluetooth base UUID form, lower case."""
    u = uuid.lower().strip()
    if len(u) == 4:
        return f"0000{u}-0000-1000-8000-00805f9b34fb"
    if len(u) == 8:
        return f"{u}-0000-1000-8000-00805f9b34fb"
    if len(u) == 32:
        return f"{u[:8]}-{u[8:12]}-{u[12:16]}-{u[16:20]}-{u[20:]}"
    return u


class PrivateSystemBus:
    """Our own ``dbus-daemon`` (system type) on a unix socket in a temporary directory.

    ``with PrivateSystemBus(set_env=True) as bus:`` sets ``DBUS_SYSTEM_BUS_ADDRESS`` for this
    process (restored on exit). Start it before bleak first connects.
    """

    def __init__(self, set_env: bool = False, daemon: str | None = None) -> None:
        self.set_env = set_env
        self.daemon = daemon or shutil.which("dbus-daemon") or "/usr/bin/dbus-daemon"
        self.address: str | None = None
        self._proc: subprocess.Popen | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._old_env: str | None = None

    def start(self) -> str:
        if not Path(self.daemon).exists():
            raise MovekitError(f"dbus-daemon not found at {self.daemon}; install the 'dbus' package")
        self._tmp = tempfile.TemporaryDirectory(prefix="movekit-dbus-")
        sock = Path(self._tmp.name) / "system_bus_socket"
        conf = Path(self._tmp.name) / "bus.conf"
        conf.write_text(_BUS_CONFIG.format(socket=sock))
        self._proc = subprocess.Popen(
            [self.daemon, f"--config-file={conf}", "--nofork", "--print-address=1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )
        ready, _, _ = select.select([self._proc.stdout], [], [], 5.0)
        line = self._proc.stdout.readline().decode().strip() if ready else ""
        if not line:
            err = self._proc.stderr.read1(4096).decode(errors="replace") if self._proc.poll() is not None else ""
            self.stop()
            raise MovekitError(f"private dbus-daemon did not start: {err.strip() or 'no address printed'}")
        self.address = line.split(",")[0] if line.startswith("unix:") else line
        if self.set_env:
            self._old_env = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS")
            os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = self.address
        return self.address

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=2)
            except subprocess.TimeoutExpired:  # pragma: no cover
                self._proc.kill()
                self._proc.wait()
            for stream in (self._proc.stdout, self._proc.stderr):
                if stream:
                    stream.close()
            self._proc = None
        if self.set_env:
            if self._old_env is None:
                os.environ.pop("DBUS_SYSTEM_BUS_ADDRESS", None)
            else:
                os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = self._old_env
            self.set_env = False
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> PrivateSystemBus:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class MockCharacteristic:
    uuid: str
    flags: tuple[str, ...] = ("read",)
    value: bytes = b""

    def __post_init__(self) -> None:
        self.uuid = full_uuid(self.uuid)


@dataclass
class MockService:
    uuid: str
    characteristics: list[MockCharacteristic] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.uuid = full_uuid(self.uuid)


class MockPeripheral:
    """A BLE peripheral's behaviour: advertising data, GATT table, and hooks.

    Override :meth:`on_connect`, :meth:`on_disconnect`, :meth:`on_write`, :meth:`on_read`,
    :meth:`on_notify_changed`. Send notifications with :meth:`notify`.
    """

    def __init__(
        self,
        address: str,
        name: str,
        services: list[MockService],
        *,
        rssi: int = -60,
        advertised_uuids: list[str] | None = None,
        manufacturer_data: dict[int, bytes] | None = None,
        service_data: dict[str, bytes] | None = None,
        tx_power: int = 0,
        address_type: str = "public",
        battery_percent: int | None = 87,
    ) -> None:
        self.address = address.upper()
        self.name = name
        self.services = list(services)
        if battery_percent is not None and not any(s.uuid == BATTERY_SERVICE_UUID for s in self.services):
            self.services.append(
                MockService(
                    BATTERY_SERVICE_UUID,
                    [MockCharacteristic(BATTERY_LEVEL_UUID, ("read", "notify"), bytes([battery_percent]))],
                )
            )
        self.rssi = rssi
        self.advertised_uuids = [full_uuid(u) for u in (advertised_uuids or [s.uuid for s in services])]
        self.manufacturer_data = manufacturer_data or {}
        self.service_data = {full_uuid(k): v for k, v in (service_data or {}).items()}
        self.tx_power = tx_power
        self.address_type = address_type
        self.advertising = True
        self.connectable = True
        self.answers_connect = True
        self.connected = False
        self.notifying: set[str] = set()
        self.bluez: MockBlueZ | None = None
        self.writes: list[tuple[str, bytes]] = []

    # hooks -------------------------------------------------------------------------------------
    def on_connect(self) -> None: ...

    def on_disconnect(self) -> None: ...

    def on_write(self, char_uuid: str, data: bytes) -> None: ...

    def on_read(self, char_uuid: str) -> bytes | None:
        return None

    def on_notify_changed(self, char_uuid: str, enabled: bool) -> None: ...

    # helpers -----------------------------------------------------------------------------------
    def characteristic(self, uuid: str) -> MockCharacteristic:
        u = full_uuid(uuid)
        for s in self.services:
            for c in s.characteristics:
                if c.uuid == u:
                    return c
        raise KeyError(uuid)

    def notify(self, char_uuid: str, data: bytes) -> bool:
        """Send one notification; False when not connected or the client is not subscribed."""
        if self.bluez is None:
            return False
        return self.bluez.notify(self, char_uuid, data)

    def drop_link(self) -> None:
        """Simulate a link loss (out of range, battery pulled)."""
        if self.bluez is not None:
            self.bluez.drop_link(self)


def _dev_path(address: str) -> str:
    return f"{ADAPTER_PATH}/dev_{address.upper().replace(':', '_')}"


class MockBlueZ:
    """Serve ``org.bluez`` on the bus at ``bus_address``; see the module docstring."""

    def __init__(
        self, bus_address: str | None = None, adv_interval_s: float = 0.05, connect_delay_s: float = 0.0
    ) -> None:
        self.bus_address = bus_address or os.environ.get("DBUS_SYSTEM_BUS_ADDRESS")
        if not self.bus_address:
            raise MovekitError("MockBlueZ needs a bus address (start a PrivateSystemBus first)")
        self.adv_interval_s = adv_interval_s
        self.connect_delay_s = connect_delay_s
        self.bus: MessageBus | None = None
        self.objects: dict[str, dict[str, dict[str, Variant]]] = {}
        self.peripherals: dict[str, MockPeripheral] = {}  # by device path
        self._char_paths: dict[str, dict[str, str]] = {}  # device path -> uuid -> char path
        self._path_char: dict[str, tuple[MockPeripheral, MockCharacteristic]] = {}
        self._discovering = False
        self._adv_task: asyncio.Task | None = None
        self.discovery_filter: dict[str, Any] = {}
        self.notifications_sent = 0

    # lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> MockBlueZ:
        self.bus = await MessageBus(bus_address=self.bus_address, bus_type=BusType.SYSTEM).connect()
        self.bus.add_message_handler(self._handle)
        self.objects[ADAPTER_PATH] = {
            ADAPTER: {
                "Address": Variant("s", "00:AA:01:00:00:01"),
                "AddressType": Variant("s", "public"),
                "Name": Variant("s", "movekit-mock"),
                "Alias": Variant("s", "movekit-mock"),
                "Powered": Variant("b", True),
                "Discoverable": Variant("b", False),
                "Pairable": Variant("b", True),
                "Discovering": Variant("b", False),
                "UUIDs": Variant("as", []),
                "Modalias": Variant("s", "usb:v1D6Bp0246d0540"),
                "Roles": Variant("as", ["central", "peripheral"]),
            }
        }
        await self.bus.request_name(BLUEZ)
        return self

    async def stop(self) -> None:
        if self._adv_task is not None:
            self._adv_task.cancel()
            self._adv_task = None
        if self.bus is not None:
            self.bus.disconnect()
            try:
                await asyncio.wait_for(self.bus.wait_for_disconnect(), 1.0)
            except Exception:  # noqa: BLE001 (pragma: no cover - already gone)
                pass
            self.bus = None

    async def __aenter__(self) -> MockBlueZ:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # devices -----------------------------------------------------------------------------------
    def add(self, p: MockPeripheral) -> str:
        path = _dev_path(p.address)
        p.bluez = self
        self.peripherals[path] = p
        self._export_device(path, p)
        return path

    def _export_device(self, path: str, p: MockPeripheral) -> None:
        props: dict[str, Variant] = {
            "Address": Variant("s", p.address),
            "AddressType": Variant("s", p.address_type),
            "Name": Variant("s", p.name),
            "Alias": Variant("s", p.name),
            "Adapter": Variant("o", ADAPTER_PATH),
            "Paired": Variant("b", False),
            "Bonded": Variant("b", False),
            "Trusted": Variant("b", False),
            "Blocked": Variant("b", False),
            "LegacyPairing": Variant("b", False),
            "Connected": Variant("b", False),
            "ServicesResolved": Variant("b", False),
            "UUIDs": Variant("as", list(p.advertised_uuids)),
            "RSSI": Variant("n", p.rssi),
            "TxPower": Variant("n", p.tx_power),
            "ManufacturerData": Variant("a{qv}", {k: Variant("ay", bytes(v)) for k, v in p.manufacturer_data.items()}),
            "ServiceData": Variant("a{sv}", {k: Variant("ay", bytes(v)) for k, v in p.service_data.items()}),
        }
        self._add_object(path, {DEVICE: props})

    def remove(self, p: MockPeripheral) -> None:
        path = _dev_path(p.address)
        if p.connected:
            self.drop_link(p)
        self.peripherals.pop(path, None)
        if path in self.objects:
            self._remove_object(path)

    # signals -----------------------------------------------------------------------------------
    def _send(self, msg: Message) -> None:
        if self.bus is not None and self.bus.connected:
            self.bus.send(msg)

    def _add_object(self, path: str, ifaces: dict[str, dict[str, Variant]]) -> None:
        self.objects[path] = ifaces
        self._send(Message.new_signal("/", OM, "InterfacesAdded", "oa{sa{sv}}", [path, ifaces]))

    def _remove_object(self, path: str) -> None:
        ifaces = self.objects.pop(path, {})
        self._send(Message.new_signal("/", OM, "InterfacesRemoved", "oas", [path, list(ifaces)]))

    def _set(self, path: str, iface: str, **values: Variant) -> None:
        self.objects[path][iface].update(values)
        self._send(Message.new_signal(path, PROPS, "PropertiesChanged", "sa{sv}as", [iface, values, []]))

    def notify(self, p: MockPeripheral, char_uuid: str, data: bytes) -> bool:
        dev = _dev_path(p.address)
        cpath = self._char_paths.get(dev, {}).get(full_uuid(char_uuid))
        if not p.connected or cpath is None or full_uuid(char_uuid) not in p.notifying:
            return False
        value = Variant("ay", bytes(data))
        self.objects[cpath][CHAR]["Value"] = value
        self._send(Message.new_signal(cpath, PROPS, "PropertiesChanged", "sa{sv}as", [CHAR, {"Value": value}, []]))
        self.notifications_sent += 1
        return True

    # GATT objects ------------------------------------------------------------------------------
    def _add_gatt(self, dev: str, p: MockPeripheral) -> None:
        handle = 0x000A
        chars: dict[str, str] = {}
        for s in p.services:
            spath = f"{dev}/service{handle:04x}"
            handle += 1
            self._add_object(
                spath,
                {
                    SERVICE: {
                        "UUID": Variant("s", s.uuid),
                        "Device": Variant("o", dev),
                        "Primary": Variant("b", True),
                        "Includes": Variant("ao", []),
                    }
                },
            )
            for c in s.characteristics:
                cpath = f"{spath}/char{handle:04x}"
                handle += 2
                props = {
                    "UUID": Variant("s", c.uuid),
                    "Service": Variant("o", spath),
                    "Value": Variant("ay", bytes(c.value)),
                    "Notifying": Variant("b", False),
                    "Flags": Variant("as", list(c.flags)),
                    "MTU": Variant("q", 247),
                }
                self._add_object(cpath, {CHAR: props})
                chars[c.uuid] = cpath
                self._path_char[cpath] = (p, c)
                if "notify" in c.flags or "indicate" in c.flags:
                    dpath = f"{cpath}/desc{handle:04x}"
                    handle += 1
                    self._add_object(
                        dpath,
                        {
                            DESC: {
                                "UUID": Variant("s", CCCD_UUID),
                                "Characteristic": Variant("o", cpath),
                                "Value": Variant("ay", b"\x00\x00"),
                                "Flags": Variant("as", ["read", "write"]),
                            }
                        },
                    )
        self._char_paths[dev] = chars

    def _remove_gatt(self, dev: str) -> None:
        prefix = dev + "/"
        paths = [p for p in self.objects if p.startswith(prefix)]
        for path in sorted(paths, key=lambda s: -s.count("/")):  # descriptors, chars, services
            self._path_char.pop(path, None)
            self._remove_object(path)
        self._char_paths.pop(dev, None)

    def drop_link(self, p: MockPeripheral) -> None:
        dev = _dev_path(p.address)
        if not p.connected or dev not in self.objects:
            return
        p.connected = False
        p.notifying.clear()
        self._set(dev, DEVICE, ServicesResolved=Variant("b", False))
        self._remove_gatt(dev)
        self._set(dev, DEVICE, Connected=Variant("b", False))
        p.on_disconnect()

    async def _connect(self, msg: Message, dev: str, p: MockPeripheral) -> None:
        if self.connect_delay_s:
            await asyncio.sleep(self.connect_delay_s)
        if not p.connectable or not p.advertising:
            self._send(Message.new_error(msg, "org.bluez.Error.Failed", "Page Timeout"))
            return
        if not p.connected:
            p.connected = True
            self._set(dev, DEVICE, Connected=Variant("b", True))
            self._add_gatt(dev, p)
            self._set(dev, DEVICE, ServicesResolved=Variant("b", True))
        self._send(Message.new_method_return(msg))
        p.on_connect()

    # advertising -------------------------------------------------------------------------------
    async def _advertise(self) -> None:
        try:
            await asyncio.sleep(0.002)
            k = 0
            while self._discovering:
                for path, p in list(self.peripherals.items()):
                    if not p.advertising or p.connected:
                        continue
                    if path not in self.objects:  # removed by RemoveDevice: found again
                        self._export_device(path, p)
                        continue
                    jitter = (k % 2) * 2 - 1  # stored value must change, not only the signal
                    self._set(path, DEVICE, RSSI=Variant("n", p.rssi + jitter))
                k += 1
                await asyncio.sleep(self.adv_interval_s)
        except asyncio.CancelledError:
            pass

    # method calls ------------------------------------------------------------------------------
    def _handle(self, msg: Message) -> Any:
        if msg.message_type != MessageType.METHOD_CALL:
            return None
        try:
            return self._dispatch(msg)
        except DBusError:
            raise
        except KeyError as exc:
            raise DBusError("org.freedesktop.DBus.Error.UnknownObject", f"no object {exc}") from None

    def _dispatch(self, msg: Message) -> Any:
        """Answer one method call: a reply, ``True`` (answered later or never), ``None`` (dbus-fast answers)."""
        iface, member, path = msg.interface, msg.member, msg.path
        if iface == OM and member == "GetManagedObjects":
            return Message.new_method_return(msg, "a{oa{sa{sv}}}", [dict(self.objects)])
        if iface == "org.freedesktop.DBus.Introspectable":
            return None  # let dbus-fast answer
        handler = {
            PROPS: self._on_props,
            ADAPTER: self._on_adapter,
            DEVICE: self._on_device,
            CHAR: self._on_char,
            DESC: self._on_desc,
        }.get(iface)
        reply = handler(msg) if handler is not None else _UNHANDLED
        if reply is _UNHANDLED:
            raise DBusError("org.freedesktop.DBus.Error.UnknownMethod", f"{iface}.{member} on {path}")
        return reply

    def _on_props(self, msg: Message) -> Any:
        obj = self.objects.get(msg.path)
        if obj is None:
            raise DBusError("org.freedesktop.DBus.Error.UnknownObject", msg.path)
        if msg.member == "GetAll":
            return Message.new_method_return(msg, "a{sv}", [obj.get(msg.body[0], {})])
        if msg.member == "Get":
            try:
                return Message.new_method_return(msg, "v", [obj[msg.body[0]][msg.body[1]]])
            except KeyError:
                raise DBusError("org.freedesktop.DBus.Error.InvalidArgs", "no such property") from None
        if msg.member == "Set":
            self._set(msg.path, msg.body[0], **{msg.body[1]: msg.body[2]})
            return Message.new_method_return(msg)
        return _UNHANDLED

    def _on_adapter(self, msg: Message) -> Any:
        member = msg.member
        if msg.path != ADAPTER_PATH:
            return _UNHANDLED
        if member == "SetDiscoveryFilter":
            self.discovery_filter = dict(msg.body[0])
            return Message.new_method_return(msg)
        if member == "StartDiscovery":
            if not self._discovering:
                self._discovering = True
                self._set(ADAPTER_PATH, ADAPTER, Discovering=Variant("b", True))
                self._adv_task = asyncio.get_running_loop().create_task(self._advertise())
            return Message.new_method_return(msg)
        if member == "StopDiscovery":
            if self._discovering:
                self._discovering = False
                self._set(ADAPTER_PATH, ADAPTER, Discovering=Variant("b", False))
            return Message.new_method_return(msg)
        if member == "RemoveDevice":
            dev = msg.body[0]
            p = self.peripherals.get(dev)
            if p is not None and p.connected:
                self.drop_link(p)
            if dev in self.objects:
                self._remove_object(dev)
                return Message.new_method_return(msg)
            raise DBusError("org.bluez.Error.DoesNotExist", "Does Not Exist")
        return _UNHANDLED

    def _on_device(self, msg: Message) -> Any:
        path, member = msg.path, msg.member
        p = self.peripherals.get(path)
        if p is None or path not in self.objects:
            raise DBusError("org.freedesktop.DBus.Error.UnknownObject", path)
        if member == "Connect":
            if not p.answers_connect:
                return True  # swallowed: the caller times out, like a device that never answers
            asyncio.get_running_loop().create_task(self._connect(msg, path, p))
            return True
        if member == "Disconnect":
            self.drop_link(p)
            return Message.new_method_return(msg)
        if member == "Pair":
            self._set(path, DEVICE, Paired=Variant("b", True))
            return Message.new_method_return(msg)
        return _UNHANDLED

    def _on_char(self, msg: Message) -> Any:
        member = msg.member
        p, c = self._path_char[msg.path]
        if member == "ReadValue":
            v = p.on_read(c.uuid)
            if v is not None:
                c.value = bytes(v)
            return Message.new_method_return(msg, "ay", [bytes(c.value)])
        if member == "WriteValue":
            data = bytes(msg.body[0])
            p.writes.append((c.uuid, data))
            p.on_write(c.uuid, data)
            return Message.new_method_return(msg)
        if member in ("StartNotify", "StopNotify"):
            on = member == "StartNotify"
            (p.notifying.add if on else p.notifying.discard)(c.uuid)
            self._set(msg.path, CHAR, Notifying=Variant("b", on))
            p.on_notify_changed(c.uuid, on)
            return Message.new_method_return(msg)
        if member == "AcquireNotify":
            raise DBusError("org.bluez.Error.NotSupported", "Not Supported")
        return _UNHANDLED

    def _on_desc(self, msg: Message) -> Any:
        if msg.member == "ReadValue":
            return Message.new_method_return(msg, "ay", [bytes(self.objects[msg.path][DESC]["Value"].value)])
        if msg.member == "WriteValue":
            return Message.new_method_return(msg)
        return _UNHANDLED


async def start_mock(peripherals: list[MockPeripheral] = (), **kw: Any) -> MockBlueZ:
    """Start a :class:`MockBlueZ` on ``$DBUS_SYSTEM_BUS_ADDRESS`` and add ``peripherals``."""
    m = await MockBlueZ(**kw).start()
    for p in peripherals:
        m.add(p)
    return m


@contextmanager
def mock_in_thread(peripherals: list[MockPeripheral] = (), timeout_s: float = 5.0, **kw: Any):
    """Serve a :class:`MockBlueZ` with ``peripherals`` from its own thread and event loop.

    For callers whose BLE client runs in another loop (movekit capture, the CLI, bleak in a
    test): yields the running mock and stops it on exit. ``$DBUS_SYSTEM_BUS_ADDRESS`` must
    already point at a private bus (:class:`PrivateSystemBus`).
    """
    ready, stop, box = threading.Event(), threading.Event(), {}

    async def run() -> None:
        try:
            box["mock"] = await start_mock(list(peripherals), **kw)
        except BaseException as exc:  # noqa: BLE001 (reported to the caller below)
            box["error"] = exc
            ready.set()
            return
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.02)
        await box["mock"].stop()

    th = threading.Thread(target=lambda: asyncio.run(run()), daemon=True, name="mock-bluez")
    th.start()
    if not ready.wait(timeout_s):
        stop.set()
        raise MovekitError(f"the mock BlueZ did not start within {timeout_s:g} s")
    if "error" in box:
        raise box["error"]
    try:
        yield box["mock"]
    finally:
        stop.set()
        th.join(timeout_s)


def now() -> float:
    return time.perf_counter()
