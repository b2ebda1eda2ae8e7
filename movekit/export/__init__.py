"""Standard exports for researchers: one small module per format.

``trc`` (OpenSim/Pose2Sim markers), ``mot`` (OpenSim joint angles), ``c3d`` (points, analog
channels, events), ``bids`` (BIDS-Motion style folder); ``files`` writes every output safely
(no overwrite unless asked, temporary file then rename, mode 0600).
"""
