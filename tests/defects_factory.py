"""A small hand-built factory whose defect attribution is known by hand (see
tests/test_defects_attribution.py for the expected numbers)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import sqlalchemy as sa

from core import schema
from core.db._engines import make_engine

D0 = dt.datetime(2026, 6, 1)


def day(n: int, hour: int = 8) -> dt.datetime:
    return D0 + dt.timedelta(days=n, hours=hour)


def cid(name: str) -> str:
    return name.encode().hex().upper().ljust(16, "0")[:16]


CONTAINERS = [
    # name, firstname, splitfrom, type, package, objecttype
    ("W1", "W1", None, None, None, "LOT"),
    ("W2", "W2", None, None, None, "LOT"),
    ("P1", "W1", None, "X1", "PKG1", "LOT"),
    ("A", "W1", "P1", "X1", "PKG1", "LOT"),
    ("B", "W1", "P1", "X1", "PKG1", "LOT"),
    ("C", "W2", None, "X1", "PKG1", "LOT"),
    ("D", "W2", None, "X2", "PKG2", "LOT"),
    ("E", "W2", None, "X1", "PKG1", "LOT"),
]
SPECS = [("S_DB", "1", "DB", "焊接_DB", "1"), ("S_WB", "2", "WB", "焊接_WB", "2"),
         ("S_TMTT", "20", "TMTT", "TMTT", "11"), ("S_FQC", "30", "FQC", "FQC", "12")]
HISTORY = [
    # lot, workcenter, machine, trackin, trackinqty
    ("P1", "DB", "M1", day(0), 2000),
    ("A", "WB", "WB1", day(2), 1000), ("A", "TMTT", "T1", day(5), 1000),
    ("A", "FQC", "F1", day(7), 960),
    ("B", "WB", "WB2", day(2), 1000), ("B", "TMTT", "T1", day(3), 900),
    ("B", "TMTT", "T1", day(6), 1000),
    ("C", "DB", "M2", day(1), 1000), ("C", "WB", "WB1", day(2), 1000),
    ("C", "TMTT", "T2", day(5), 1000),
    ("D", "DB", "M2", day(1), 500), ("D", "WB", "WB2", day(2), 500),
    ("D", "TMTT", "T2", day(6), 500),
    ("E", "DB", "M1", day(0), 800), ("E", "TMTT", "T1", day(40), 800),  # outside the range
]
MATERIALS = [("P1", "DB", "LF", "LF-1"), ("C", "DB", "LF", "LF-2"), ("D", "DB", "LF", "LF-2"),
             ("A", "FQC", "BOX", "BX-9")]
REJECTS = [
    # lot, workcenter, event, reason, rejectqty, standbyqty, when
    ("A", "TMTT", "H1", "274_OPEN", 30, None, day(5, 10)),
    ("A", "TMTT", "H1", "001_CRACK", 10, None, day(5, 10)),
    ("B", "TMTT", "H2", "274_OPEN", 20, 5, day(6, 10)),
    ("C", "TMTT", "H3", "001_CRACK", 5, None, day(5, 10)),
    ("A", "FQC", "H4", "274_OPEN", 7, None, day(7, 10)),  # a later station
]
EDGES = [("P1", "A", "split"), ("P1", "B", "split"), ("W1", "P1", "wafer"),
         ("W2", "C", "wafer"), ("W2", "D", "wafer"), ("W2", "E", "wafer")]


RESOURCES = (("M1", "ASM-AD838"), ("M2", "ASM-AD838"), ("WB1", "K&S"), ("WB2", "K&S"),
             ("T1", "TMTT-X"), ("T2", "TMTT-X"))


def build(url: str, schema_name: str = "dwh") -> None:
    insert(url, schema_name, containers=[
        {"containerid": cid(n), "containername": n, "firstname": f,
         "splitfromid": cid(s) if s else None, "pj_type": t, "productlinename": p,
         "objecttype": o, "mfgordername": None if n.startswith("W") else "GA26060001",
         "createdate": D0} for n, f, s, t, p, o in CONTAINERS],
        history=[
            {"containerid": cid(n), "workcentername": w, "specname": f"S_{w}",
             "equipmentid": cid(m), "equipmentname": m, "trackintimestamp": t,
             "trackouttimestamp": t + dt.timedelta(hours=2), "trackinqty": q,
             "trackoutqty": q} for n, w, m, t, q in HISTORY],
        materials=[
            {"containerid": cid(n), "workcentername": w, "materialpartname": p,
             "materiallotname": lot, "qtyconsumed": 1.0, "txndate": D0}
            for n, w, p, lot in MATERIALS],
        rejects=[
            {"historymainlineid": cid(h), "containerid": cid(n), "workcentername": w,
             "lossreasonname": r, "rejectqty": q, "standbyqty": s, "txndate": t,
             "moveinqty": 1000, "equipmentname": "T1"} for n, w, h, r, q, s, t in REJECTS])


def insert(url: str, schema_name: str, *, containers: list[dict], history: list[dict],
           materials: list[dict], rejects: list[dict],
           resources: tuple[tuple[str, str], ...] = RESOURCES) -> None:
    """Create the tables and insert the rows (the station map is SPECS)."""
    engine = make_engine(url, schema=schema_name, pool=None, read_only=False)
    with engine.begin() as c:
        c.execute(sa.schema.CreateSchema(schema_name, if_not_exists=True))
    schema.metadata.create_all(engine)
    with engine.begin() as c:
        c.execute(schema.container.insert(), containers)
        c.execute(schema.spec_workcenter.insert(), [
            {"spec": s, "specsequence": q, "work_center": w, "work_center_group": g,
             "workcentersequence_group": gs} for s, q, w, g, gs in SPECS])
        for table, rows in ((schema.lotwiphistory, history),
                            (schema.lotmaterialshistory, materials),
                            (schema.lotrejecthistory, rejects)):
            if rows:
                keys = sorted({k for r in rows for k in r})  # one shape for every row
                c.execute(table.insert(), [{k: r.get(k) for k in keys} for r in rows])
        c.execute(schema.resource.insert(), [
            {"resourceid": cid(m), "resourcename": m, "resourcefamilyname": fam}
            for m, fam in resources])
    engine.dispose()


def edges_table() -> pa.Table:
    return pa.table({"parent_id": [cid(p) for p, _, _ in EDGES],
                     "child_id": [cid(c) for _, c, _ in EDGES],
                     "edge_kind": [k for _, _, k in EDGES]})


# --- a second factory for the counting rules (tests/test_defects_counting.py) --------------
# Seeds at TMTT: G (a split of P; its TMTT track-in of 1000 tracked out in three parts:
# rows 1000, 600, 200), H (500; a lead frame of unknown lot; a row at a workcenter the
# station map does not know), J (800; its die-bond row has a machine id but no name).
# Defects: G 6 charged + 4 uncharged, H 5 uncharged only, J clean.


def _h(lot: str, wc: str, machine: str | None, t: dt.datetime, qty: int, out: int | None = None,
       *, hours: int = 2, machine_id: str | None = "same") -> dict:
    return {"containerid": cid(lot), "workcentername": wc, "specname": f"S_{wc}",
            "equipmentid": (cid(machine) if machine else None) if machine_id == "same"
            else machine_id, "equipmentname": machine, "trackintimestamp": t,
            "trackouttimestamp": t + dt.timedelta(hours=hours), "trackinqty": qty,
            "trackoutqty": qty if out is None else out}


COUNTING_CONTAINERS = [("P", "W1", None), ("G", "W1", "P"), ("H", "W2", None),
                       ("J", "W2", None), ("G-01", "W1", "G")]
COUNTING_HISTORY = [
    _h("P", "DB", "M1", day(0), 2000),
    _h("G", "WB", "WB1", day(2), 1000),
    # one track-in, three partial track-outs: what is left on each row
    _h("G", "TMTT", "T1", day(5), 1000, 400, hours=1),
    _h("G", "TMTT", "T1", day(5), 600, 400, hours=2),
    _h("G", "TMTT", "T1", day(5), 200, 190, hours=3),
    _h("H", "DB", "M2", day(1), 500),
    _h("H", "WB", "WB1", day(2), 500),
    _h("H", "ZZ", "Z1", day(3), 500),  # a workcenter the station map does not know
    _h("H", "TMTT", "T1", day(5), 500),
    _h("J", "DB", None, day(1), 800, machine_id=cid("M2")),  # machine name missing
    _h("J", "DB", None, day(1, 12), 800, machine_id=None),  # a checkpoint: no machine
    _h("J", "WB", "WB1", day(2), 800),
    _h("J", "TMTT", "T2", day(6), 800),
    # after detection (forward): G-01, split from G, tracked into FQC 700 in two parts
    _h("G-01", "FQC", "F1", day(8), 700, 400, hours=1),
    _h("G-01", "FQC", "F1", day(8), 300, 290, hours=2),
    _h("G", "FQC", "F1", day(8), 250),
    _h("H", "FQC", "F2", day(8), 480),
]
COUNTING_MATERIALS = [("P", "DB", "LF", "LF-1"), ("H", "DB", "LF", None),
                      ("H", "DB", "LF", ""), ("H", "ZZ", "GLUE", "G-7")]
COUNTING_REJECTS = [
    # lot, workcenter, event, reason, rejectqty, defectqty, machine
    ("G", "TMTT", "R1", "274_OPEN", 6, 4, "T1"),
    ("H", "TMTT", "R2", "001_CRACK", None, 5, "T1"),
    ("G-01", "FQC", "R3", "274_OPEN", 7, 2, "F1"),
    ("H", "FQC", "R4", "001_CRACK", 3, None, "F2, F1"),  # booked on two: counts for F2
    ("H", "ZZ", "R5", "001_CRACK", 1, None, "Z1"),  # unknown workcenter: not attributed
]
COUNTING_EDGES = [("P", "G", "split"), ("G", "G-01", "split")]


def build_counting(url: str, schema_name: str = "dwh") -> None:
    insert(url, schema_name, containers=[
        {"containerid": cid(n), "containername": n, "firstname": f,
         "splitfromid": cid(s) if s else None, "pj_type": "X1", "productlinename": "PKG1",
         "objecttype": "LOT", "mfgordername": "GA26060002", "createdate": D0}
        for n, f, s in COUNTING_CONTAINERS],
        history=COUNTING_HISTORY,
        materials=[{"containerid": cid(n), "workcentername": w, "materialpartname": p,
                    "materiallotname": lot, "qtyconsumed": 1.0, "txndate": D0}
                   for n, w, p, lot in COUNTING_MATERIALS],
        rejects=[{"historymainlineid": cid(h), "containerid": cid(n), "workcentername": w,
                  "lossreasonname": r, "rejectqty": q, "defectqty": d, "txndate": day(5, 10)
                  if w == "TMTT" else day(8, 10), "moveinqty": 1000, "equipmentname": m}
                 for n, w, h, r, q, d, m in COUNTING_REJECTS],
        resources=(*RESOURCES, ("F1", "FQC-X"), ("F2", "FQC-X")))


def counting_edges() -> pa.Table:
    return pa.table({"parent_id": [cid(p) for p, _, _ in COUNTING_EDGES],
                     "child_id": [cid(c) for _, c, _ in COUNTING_EDGES],
                     "edge_kind": [k for _, _, k in COUNTING_EDGES]})
