"""What atoms: phase cards and the library of names, structure files, Materials Project, surfaces and
terminations, lattice-matched interfaces, amorphous blocks and Li hops.

Pure structure building (pymatgen/ASE objects in, objects out); no calculator is called here.
"""
