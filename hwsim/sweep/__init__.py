"""Design-space sweeps: specs, search strategies, executors and the durable store.

>>> from hwsim.sweep import load_spec, run_sweep   # doctest: +SKIP
>>> res = run_sweep(load_spec("sweeps/quickstart.toml"), "reports/quickstart.db")  # doctest: +SKIP
"""

from hwsim.sweep.run import SweepResult, run_sweep
from hwsim.sweep.spec import SweepSpec, load_spec, parse_spec
from hwsim.sweep.store import Store

__all__ = ["SweepResult", "SweepSpec", "Store", "load_spec", "parse_spec", "run_sweep"]
