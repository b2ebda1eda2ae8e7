"""Analysis core: pure, vectorized functions over pose arrays (see ``docs/conventions.md``).

* :mod:`~movekit.analysis.angles` -- clinical joint angles, 2D and 3D (:func:`joint_angles`, :data:`ANGLES`)
* :mod:`~movekit.analysis.view` -- sagittal / frontal / oblique view per frame and angle validity
* :mod:`~movekit.analysis.filters` -- visibility masking, gap filling, Hampel, Butterworth; streaming
* :mod:`~movekit.analysis.pipeline` -- cleaning + angles + view + centre of mass for a pose series
* :mod:`~movekit.analysis.reps`, :mod:`~movekit.analysis.rom` -- repetitions, tempo, ROM vs normal
* :mod:`~movekit.analysis.com` -- whole-body centre of mass (de Leva 1996)
"""
