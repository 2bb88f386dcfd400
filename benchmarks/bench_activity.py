"""Activity-based energy vs the table estimate: prints the ratio table.

Run: ``python benchmarks/bench_activity.py [--size 2 4] [--dataflow os ws]``. Each new
array size costs a Yosys mapping and a Verilator build (2x2 ~1 min, 4x4 ~5 min cold on
two cores); later runs reuse both from the cache.
"""

from hwsim.families.systolic.activity import main

if __name__ == "__main__":
    raise SystemExit(main())
