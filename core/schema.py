"""The data contract (shared/schema.md) as SQLAlchemy Core tables, the only way queries
name the warehouse.

Why explicit tables: one query definition must compile for Oracle, PostgreSQL and DuckDB,
and reflection is neither possible everywhere (duckdb-engine under SQLAlchemy 2.1) nor
wanted (the dashboard must not depend on columns outside the contract).

The tables are declared in the placeholder schema ``dwh``; engines translate it to the
configured schema with SQLAlchemy's ``schema_translate_map`` (see core.db._engines), so the
schema name is a setting and no query ever formats it into SQL.
"""

from __future__ import annotations

from sqlalchemy import (
    CHAR,
    Column,
    DateTime,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
)

SCHEMA_PLACEHOLDER = "dwh"

metadata = MetaData(schema=SCHEMA_PLACEHOLDER)

# `id` in the contract: a 16-character hex string, CHAR(16) in Oracle.
Id = String(16).with_variant(CHAR(16), "oracle")
Str = String(400)
LongStr = String(4000)
Ts = DateTime()
Int = Integer()
Num = Numeric(18, 6, asdecimal=False)


def _table(name: str, *cols: Column) -> Table:
    return Table(name, metadata, *cols)


container = _table(
    "dw_mes_container",
    Column("containerid", Id, nullable=False, unique=True),
    Column("containername", Str, nullable=False, unique=True),
    Column("mfgordername", Str),
    Column("objecttype", Str),
    Column("firstname", Str),
    Column("splitfromid", Id),
    Column("originalcontainerid", Id),
    Column("specname", Str),
    Column("qty", Int),
    Column("pj_type", Str),
    Column("pj_bop", Str),
    Column("pj_function", Str),
    Column("productlinename", Str),
    Column("productname", Str),
    Column("createdate", Ts),
)

combinedassylots = _table(
    "dw_mes_pj_combinedassylots",
    Column("lotid", Id, nullable=False),
    Column("containerid", Id, nullable=False),
    Column("containername", Str),
    Column("finishedname", Str),
    Column("pj_workorder", Str),
    Column("pj_combinedratio", Num),
    Column("pj_gooddieqty", Int),
    Column("originalstartdate", Ts),
)

lotwiphistory = _table(
    "dw_mes_lotwiphistory",
    Column("containerid", Id, nullable=False),
    Column("workcentername", Str),
    Column("specname", Str),
    Column("equipmentid", Id),
    Column("equipmentname", Str),
    Column("trackintimestamp", Ts, nullable=False),
    Column("trackouttimestamp", Ts),
    Column("trackinqty", Int),
    Column("trackoutqty", Int),
    Column("finishedruncard", Str),
    Column("pj_workorder", Str),
)

lotrejecthistory = _table(
    "dw_mes_lotrejecthistory",
    Column("historymainlineid", Id),
    Column("containerid", Id, nullable=False),
    Column("pj_workorder", Str),
    Column("workcentername", Str),
    Column("specid", Id),
    Column("specname", Str),
    Column("equipmentname", Str),
    Column("txndate", Ts, nullable=False),
    Column("moveinqty", Int),
    Column("lossreasonname", Str),
    Column("rejectcategoryname", Str),
    Column("rejectqty", Int),
    Column("standbyqty", Int),
    Column("qtytoprocess", Int),
    Column("inprocessqty", Int),
    Column("processedqty", Int),
    Column("defectqty", Int),
    Column("rejectcomment", Str),
)

lotmaterialshistory = _table(
    "dw_mes_lotmaterialshistory",
    Column("containerid", Id, nullable=False),
    Column("workcentername", Str),
    Column("specname", Str),
    Column("equipmentname", Str),
    Column("materialpartname", Str),
    Column("materiallotname", Str),
    Column("qtyconsumed", Num),
    Column("txndate", Ts, nullable=False),
)

holdreleasehistory = _table(
    "dw_mes_holdreleasehistory",
    Column("containerid", Id, nullable=False),
    Column("pj_workorder", Str),
    Column("workcentername", Str),
    Column("qty", Int),
    Column("holdtxndate", Ts, nullable=False),
    Column("releasetxndate", Ts),
    Column("holdemp", Str),
    Column("holdempdeptname", Str),
    Column("holdreasonname", Str),
    Column("holdcomments", Str),
    Column("releaseemp", Str),
    Column("releasecomments", Str),
    Column("ncrid", Str),
    Column("futureholdcomments", Str),
)

job = _table(
    "dw_mes_job",
    Column("jobid", Id, nullable=False),
    Column("resourceid", Id),
    Column("resourcename", Str),
    Column("jobstatus", Str),
    Column("jobmodelname", Str),
    Column("jobordername", Str),
    Column("createdate", Ts),
    Column("completedate", Ts),
    Column("causecodename", Str),
    Column("repaircodename", Str),
    Column("symptomcodename", Str),
    Column("containerids", LongStr),
    Column("containernames", LongStr),
)

spec_workcenter = _table(
    "dw_mes_spec_workcenter_v",
    Column("spec", Str, nullable=False),
    Column("specsequence", Str),
    Column("work_center", Str),
    Column("work_center_group", Str),
    Column("workcentersequence_group", Str),
)

resource = _table(
    "dw_mes_resource",
    Column("resourceid", Id, nullable=False),
    Column("resourcename", Str),
    Column("resourcefamilyname", Str),
    Column("workcentername", Str),
)

scrap_reasons_exclude = _table(
    "erp_pj_wip_scrap_reasons_exclude",
    Column("reason_id", Id),
    Column("reason_name", Str),
    Column("description", Str),
    Column("enable_flag", Str),
)

lot_v = _table(
    "dw_mes_lot_v",
    Column("containerid", Id, nullable=False),
    Column("lotid", Str),
    Column("workorder", Str),
    Column("qty", Int),
    Column("status", Str),
    Column("holdreasonname", Str),
    Column("currentholdcount", Int),
    Column("equipmentcount", Int),
    Column("agebydays", Num),
    Column("product", Str),
    Column("productlinename", Str),
    Column("package_lef", Str),
    Column("pj_type", Str),
    Column("pj_function", Str),
    Column("firstname", Str),
    Column("waferdesc", Str),
    Column("specname", Str),
    Column("specsequence", Str),
    Column("workcentername", Str),
    Column("workcenter_group", Str),
    Column("workcentersequence_group", Str),
    Column("workflowname", Str),
    Column("holdemp", Str),
    Column("deptname", Str),
    Column("comment_hold", Str),
    Column("comment_future", Str),
    Column("sys_date", Ts, nullable=False),
)

equipmentstatus_wip_v = _table(
    "dw_mes_equipmentstatus_wip_v",
    Column("resourceid", Id, nullable=False),
    Column("resourcename", Str),
    Column("workcentername", Str),
    Column("equipmentassetsstatus", Str),
    Column("runcardlotid", Str),
    Column("lottrackinqty_pcs", Int),
    Column("lottrackintime", Ts),
    Column("sys_date", Ts, nullable=False),
)

ALL_TABLES: tuple[Table, ...] = tuple(metadata.tables.values())
