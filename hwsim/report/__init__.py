"""Reports from stored sweep records: Pareto analysis, plots, HTML and Markdown.

>>> from hwsim.report import write_report        # doctest: +SKIP
>>> write_report("reports/quickstart.db", "reports/quickstart/")  # doctest: +SKIP
"""

from hwsim.report.data import export, load
from hwsim.report.html import write_report
from hwsim.report.pareto import feasible_mask, pareto_front, pareto_mask

__all__ = ["export", "feasible_mask", "load", "pareto_front", "pareto_mask", "write_report"]
