"""Real-time feedback: declarative cue rules (:mod:`.rules`) and audio output (:mod:`.audio`)."""
