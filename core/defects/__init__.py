"""Defect trace (mid-section defect analysis): attribute defects found at a detection
station to upstream machines, materials and wafer lots, or follow defective lots forward.

Public API:
    DefectRequest, DefectInputError      what to analyse, validated (request.py)
    detection queries                    seeds at the station (queries.py)
    factor_table(...)                    exposure, rate, lift, p-value (attribution.py)
    pareto(...), ranked(...)             a factor kind's top N / whole ranking
    run_defect_analysis(job, lanes, request, settings)   the three stages (defect_job.py)
"""

from core.defects.attribution import FACTOR_KINDS, factor_table, pareto, ranked
from core.defects.request import DefectInputError, DefectRequest

__all__ = ["FACTOR_KINDS", "DefectInputError", "DefectRequest", "factor_table", "pareto",
           "ranked"]
