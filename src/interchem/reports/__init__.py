"""Reports: markdown, figures and JSON written from stored results (no computation).

One module per result family: ``screen`` (hull, windows, voltages, reactions), ``interfaces``,
``kinetics`` (barriers, diffusion, phonons) and ``amorphous`` (melt-quench, lithiation).
"""
