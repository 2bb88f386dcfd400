"""Reusable datapath blocks (Amaranth components with bit-exact NumPy golden functions).

Each block module holds, for one arithmetic unit, the golden function (vectorised NumPy
on bit patterns) and the Amaranth component that the RTL tests check against it.
"""
