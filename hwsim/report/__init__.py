"""Reports from stored sweep records: which design wins and why, Pareto analysis,
interactive HTML and a Markdown summary, and tidy exports.

>>> from hwsim.report import write_report        # doctest: +SKIP
>>> write_report("reports/quickstart.db", "reports/quickstart/")  # doctest: +SKIP
>>> write_report(["reports/a.db", "reports/b.db"], "reports/a_vs_b/")  # doctest: +SKIP
"""

from hwsim.report.data import export, load, load_many
from hwsim.report.html import write_report
from hwsim.report.pareto import feasible_mask, pareto_front, pareto_mask

__all__ = ["export", "feasible_mask", "load", "load_many", "pareto_front", "pareto_mask", "write_report"]
