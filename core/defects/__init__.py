"""Defect trace (mid-section defect analysis): attribute defects found at a detection
station to upstream machines, materials and wafer lots, or follow defective lots forward.

The package's face (its modules are private, tests/test_layers.py):
    DefectRequest, DefectInputError      what to analyse, validated (_request.py)
    detection queries                    seeds at the station (_queries.py)
    factor_table(...)                    exposure, rate, lift, p-value (_attribution.py)
    pareto(...), ranked(...)             a factor kind's top N / whole ranking
    run_defect_analysis(job, lanes, request, settings)   the three stages (_defect_job.py)
    ResultExpired, LIFT_UNBOUNDED, lookups (reasons_seen, machine_jobs, ...), suspects' text
    summary_text(result), window_rule()  the summary and the window rule, in the reader's
                                         language (a job's own text is English)
    KIND_NAMES, FACTOR_VIEW, REASON_VIEW, FWD_VIEW, pareto_view   what kinds and raw
                                         columns are called where shown (_names.py)
    a machine's context: forward_machine_lots/days, lot_machines, machine_name (_context.py)
"""

from core.defects._analysis import ResultExpired
from core.defects._attribution import (
    FACTOR_KINDS,
    LIFT_UNBOUNDED,
    factor_table,
    machine_facets,
    only_machines,
    pareto,
    ranked,
)
from core.defects._context import (
    forward_machine_days,
    forward_machine_lots,
    lot_machines,
    machine_name,
)
from core.defects._defect_job import DefectResult, run_defect_analysis
from core.defects._lookups import lot_pages_cacheable, machine_jobs, reasons_seen
from core.defects._names import (
    FACTOR_VIEW,
    FWD_VIEW,
    KIND_NAMES,
    PARETO_COLUMNS,
    REASON_VIEW,
    pareto_view,
)
from core.defects._request import DefectInputError, DefectRequest
from core.defects._summary import describe as summary_text
from core.defects._suspects import containment_params, describe_suspect
from core.defects._window import RULE_TEXT as WINDOW_RULE
from core.defects._window import rule_text as window_rule
from core.defects._window import suggest_period, window_between

__all__ = [
    "FACTOR_KINDS",
    "FACTOR_VIEW",
    "FWD_VIEW",
    "KIND_NAMES",
    "LIFT_UNBOUNDED",
    "PARETO_COLUMNS",
    "REASON_VIEW",
    "WINDOW_RULE",
    "DefectInputError",
    "DefectRequest",
    "DefectResult",
    "ResultExpired",
    "containment_params",
    "describe_suspect",
    "factor_table",
    "forward_machine_days",
    "forward_machine_lots",
    "lot_machines",
    "lot_pages_cacheable",
    "machine_facets",
    "machine_jobs",
    "machine_name",
    "only_machines",
    "pareto",
    "pareto_view",
    "ranked",
    "reasons_seen",
    "run_defect_analysis",
    "suggest_period",
    "summary_text",
    "window_between",
    "window_rule",
]
