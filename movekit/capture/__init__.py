"""Capture layer: camera/video frames, pose estimation, and (in ``ble``) Bluetooth LE devices."""
