"""The numeric core: surfaces, optimizers, the run engine, minima, basins and file formats.

numpy (and sympy for formulas) only; this package never imports Qt, pyqtgraph or OpenGL.
"""
