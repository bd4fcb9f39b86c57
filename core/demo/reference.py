"""The demo factory's master data: station groups, steps, machines, products, reasons.

Why: every generated row must agree with the same flow (domain.md): a lot's steps, their
workcenters and station groups, its machines and materials, the reasons it is scrapped
for. Keeping that vocabulary here, as small tuples, lets the generators work on integer
codes with numpy and turn codes into text only when a table is written.

``Factory`` is the per-scale instance: machines are numbered per workcenter (``DB-012``,
``TMTT-07``), specs are named per step, workcenter and product family, and every list
is indexed by the integer codes the generators use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.config import DEFAULT_NON_QUALITY_HOLD_REASONS

GROUPS: tuple[str, ...] = (
    "切割", "焊接_DB", "焊接_WB", "焊接_DW", "成型", "去膠", "水吹砂", "電鍍", "移印",
    "切彎腳", "元件切割", "TMTT", "FQC", "成品入庫",
)  # fmt: skip
"""Station groups in flow order; the index is workcentersequence_group."""


@dataclass(frozen=True)
class Workcenter:
    name: str
    group: int
    prefix: str | None  # machine name prefix; None: no machines (checkpoint only)
    machines: int  # machines at the incident scale
    models: tuple[str, ...] = ()
    digits: int = 3


WORKCENTERS: tuple[Workcenter, ...] = (
    Workcenter("切割", 0, "SAW", 12, ("DISCO DFD6361", "DISCO DAD3350")),
    Workcenter("焊_DB_料", 1, "DB", 40, ("ASM AD838L", "ESEC 2100 SD")),
    Workcenter("焊_DB_烤", 1, "OV", 10, ("YAMATO DKN-812",)),
    Workcenter("焊_WB", 2, "WB", 40, ("K&S ICONN", "ASM Eagle AERO")),
    Workcenter("焊_DW", 3, "DW", 8, ("ASM AD211",)),
    Workcenter("成型", 4, "MD", 16, ("TOWA YPS120", "ASAHI FMS")),
    Workcenter("成型_烤", 4, "PMC", 8, ("DESPATCH PMC-3",)),
    Workcenter("去膠", 5, "DF", 6, ("HTD-200",)),
    Workcenter("水吹砂", 6, "WJ", 5, ("SANDJET-3",)),
    Workcenter("掛鍍", 7, "RP", 5, ("MECO RACK-2",)),
    Workcenter("滾鍍", 7, "BP", 6, ("TECH BARREL-6",)),
    Workcenter("條鍍", 7, "SP", 8, ("MECO EPL-3000",)),
    Workcenter("補鍍", 7, "TP", 3, ("MECO TOUCHUP",)),
    Workcenter("移印", 8, "MK", 12, ("LASER MARK LM-20",)),
    Workcenter("切彎腳", 9, "TF", 20, ("ASM TF-500", "HANMI TF-9")),
    Workcenter("元件切割", 10, "SG", 10, ("DISCO DFD6340",)),
    Workcenter("PKG_SAW", 10, "PS", 8, ("DISCO DFD6362",)),
    Workcenter("TMTT", 11, "TMTT", 30, ("ISMECA NX16", "TESEC 3331"), digits=2),
    Workcenter("FQC", 12, None, 0),
    Workcenter("成品入庫", 13, None, 0),
)
WC_INDEX = {wc.name: i for i, wc in enumerate(WORKCENTERS)}


@dataclass(frozen=True)
class Step:
    key: str
    group: int
    wcs: tuple[str, ...]  # workcenter options; the lot's product picks one
    spec: str  # spec name stem
    equipment: bool  # False: checkpoint step, no machine
    hours: float  # mean processing hours
    split_weight: float = 0.0  # where lots are split (relative weight)
    reject_prob: float = 0.0  # probability that a pass scraps something
    reject_rate: float = 0.0  # mean scrapped share of the pieces moved in, when it does


STEPS: tuple[Step, ...] = (
    Step("saw_in", 0, ("切割",), "WS來料檢", False, 0.3),
    Step("saw", 0, ("切割",), "WS切割", True, 4.0, 0.2, 0.35, 2e-3),
    Step("saw_qc", 0, ("切割",), "WS檢驗", False, 0.3),
    Step("db", 1, ("焊_DB_料",), "DB上片", True, 7.0, 3.0, 0.49, 2e-3),
    Step("db_cure", 1, ("焊_DB_烤",), "DB烘烤", True, 5.0, 0.0, 0.07, 5e-4),
    Step("db_qc", 1, ("焊_DB_料",), "DB推力", False, 0.3, 0.3),
    Step("wb", 2, ("焊_WB",), "WB焊線", True, 9.0, 0.6, 0.56, 2.5e-3),
    Step("wb_qc", 2, ("焊_WB",), "WB拉力", False, 0.3),
    Step("dw", 3, ("焊_DW",), "DW焊接", True, 6.0, 0.2, 0.28, 1e-3),
    Step("mold", 4, ("成型",), "MD成型", True, 4.0, 0.6, 0.42, 1.5e-3),
    Step("mold_cure", 4, ("成型_烤",), "MD後烘烤", True, 6.0, 0.0, 0.07, 5e-4),
    Step("mold_qc", 4, ("成型",), "MD外觀", False, 0.3),
    Step("deflash", 5, ("去膠",), "DF去膠", True, 3.0, 0.2, 0.21, 8e-4),
    Step("deflash_qc", 5, ("去膠",), "DF外觀", False, 0.3),
    Step("sandblast", 6, ("水吹砂",), "WJ水吹砂", True, 3.0, 0.2, 0.14, 8e-4),
    Step("plate_pre", 7, ("掛鍍", "滾鍍", "條鍍"), "PL前處理", False, 0.5),
    Step("plate", 7, ("掛鍍", "滾鍍", "條鍍"), "PL電鍍", True, 9.0, 1.2, 0.42, 1.2e-3),
    Step("replate", 7, ("補鍍",), "PL補鍍", True, 4.0, 0.0, 0.28, 1e-3),
    Step("plate_qc", 7, ("掛鍍", "滾鍍", "條鍍"), "PL膜厚", False, 0.3),
    Step("mark", 8, ("移印",), "MK移印", True, 3.0, 0.8, 0.21, 8e-4),
    Step("mark_qc", 8, ("移印",), "MK外觀", False, 0.3),
    Step("trim", 9, ("切彎腳",), "TF切彎腳", True, 4.0, 0.4, 0.42, 1.5e-3),
    Step("trim_qc", 9, ("切彎腳",), "TF外觀", False, 0.3),
    Step("pkg_saw", 10, ("元件切割", "PKG_SAW"), "SG元件切割", True, 4.0, 0.4, 0.42, 1.5e-3),
    Step("pkg_saw_qc", 10, ("元件切割", "PKG_SAW"), "SG外觀", False, 0.3),
    Step("tmtt", 11, ("TMTT",), "TMTT測試", True, 12.0, 2.4, 0.9, 3e-3),
    Step("fqc", 12, ("FQC",), "FQC抽驗", False, 0.5, 0.1),
    Step("fg", 13, ("成品入庫",), "FG入庫", False, 0.2),
)
S = {s.key: i for i, s in enumerate(STEPS)}
N_STEPS = len(STEPS)
MERGE_START = S["pkg_saw"]  # combined lots start at 元件切割 (or TMTT) ...
MERGE_LAST = MERGE_START - 1  # ... their sources stop after 切彎腳
TMTT = S["tmtt"]
QUEUE_HOURS = 30.0  # mean wait before a step: ~90% of WIP is queueing, as in the factory
SPLIT_WEIGHTS = np.array([s.split_weight for s in STEPS])
"""Where lots are split: after dicing (die bond), at plating, and reels at TMTT."""
GD_STEPS = (S["plate"], S["mark"], S["tmtt"])
"""Steps a GD rework lot re-enters (re-plating, re-marking, re-test)."""
REJECT_EVENT_PROB = np.array([s.reject_prob for s in STEPS])
REJECT_RATE = np.array([s.reject_rate for s in STEPS])


@dataclass(frozen=True)
class Product:
    pj_type: str
    pj_function: str
    package: str  # productlinename
    productname: str
    pj_bop: str
    family: str  # SOD, SOT, DFN, PB: picks specs and route
    weight: float
    qty: tuple[int, int]  # production lot size range (pcs)


_SOT, _SOD, _DFN = (60_000, 150_000), (50_000, 120_000), (100_000, 250_000)
_P = Product
PRODUCTS: tuple[Product, ...] = (
    _P("BAT54", "SKY", "SOT-23 CU", "BAT54_R1_00101", "EAC12", "SOT", 9, _SOT),
    _P("BAT54C", "SKY", "SOT-23 CU", "BAT54C_R1_00102", "EAC12", "SOT", 4, _SOT),
    _P("BAV99", "SWITCHING", "SOT-23 CU", "BAV99_R2_00311", "EAC13", "SOT", 8, _SOT),
    _P("MMBT3904", "TRANSISTOR", "SOT-23 CU", "MMBT3904_R1_00520", "EAT21", "SOT", 8, _SOT),
    _P("MMBT3906", "TRANSISTOR", "SOT-323", "MMBT3906W_R1_00521", "EAT22", "SOT", 4, _SOT),
    _P("BZX84C5V1", "ZENER", "SOT-23 CU", "BZX84C5V1_R2_00610", "EAZ05", "SOT", 6, _SOT),
    _P("2N7002", "MOSFET", "SOT-23 CU", "2N7002_R3_00901", "EAM07", "SOT", 6, _SOT),
    _P("2N7002K", "MOSFET", "SOT-323", "2N7002KW_R3_00902", "EAM07", "SOT", 3, _SOT),
    _P("1N4148W-AU", "SWITCHING", "SOD-123FL", "1N4148WAU_R2_00330", "EAD02", "SOD", 7,
       (40_000, 100_000)),
    _P("MM3Z5V1", "ZENER", "SOD-323", "MM3Z5V1_R1_00615", "EAZ06", "SOD", 5, _SOD),
    _P("RB521S30", "SKY", "SOD-323", "RB521S30_R2_00140", "EAC15", "SOD", 5, _SOD),
    _P("ESD5Z5V0", "TVS", "SOD-323", "ESD5Z5V0_R1_00750", "EAE03", "SOD", 4, _SOD),
    _P("BAS16", "SWITCHING", "DFN1006-2L", "BAS16DFN_R1_00340", "EDF02", "DFN", 4, _DFN),
    _P("ESD9B5V", "TVS", "DFN1006-2L", "ESD9B5V_R1_00760", "EDF02", "DFN", 3, _DFN),
    _P("DMN2005", "MOSFET", "DFN1006-3L", "DMN2005DFN_R2_00930", "EDF03", "DFN", 3, _DFN),
    _P("SS14", "SKY", "PB_SMA", "SS14_R2_00170", "EPB01", "PB", 4, (15_000, 40_000)),
    _P("SMAJ15A", "TVS", "PB_SMA", "SMAJ15A_R1_00780", "EPB01", "PB", 2, (15_000, 40_000)),
    _P("SMBJ5.0A", "TVS", "PB_SMB", "SMBJ50A_R1_00781", "EPB02", "PB", 2, (10_000, 30_000)),
    _P("SBT20100", "SKY", "PB_SMC", "SBT20100UPC_R2_00701", "EPB03", "PB", 1, (8_000, 20_000)),
)

FAMILIES = ("SOD", "SOT", "DFN", "PB")


def route_of(p: Product) -> np.ndarray:
    """The steps a product's lots pass (True) among STEPS."""
    r = np.ones(N_STEPS, dtype=bool)
    leaded = p.family in ("SOD", "SOT", "PB")
    clip = p.family == "PB" or p.package == "SOD-123FL"
    r[S["wb"]] = r[S["wb_qc"]] = not clip
    r[S["dw"]] = clip
    r[S["sandblast"]] = p.family in ("PB", "SOD")
    r[S["replate"]] = False  # a per-lot extra, switched on by the generator
    r[S["trim"]] = r[S["trim_qc"]] = leaded
    r[S["pkg_saw"]] = r[S["pkg_saw_qc"]] = not leaded
    return r


def plating_wc(p: Product) -> str:
    return {"PB": "滾鍍", "DFN": "掛鍍"}.get(p.family, "條鍍")


# --- reject reasons -----------------------------------------------------------------------
REASONS: tuple[tuple[str | None, str], ...] = (
    ("001_CRACK", "製程不良"),
    ("002_缺角", "製程不良"),
    ("105_CHIPPING", "製程不良"),
    ("110_刮傷", "製程不良"),
    ("201_DB偏移", "製程不良"),
    ("203_DIE_LIFT", "製程不良"),
    ("210_銀膠溢出", "製程不良"),
    ("231_WIRE_BREAK", "製程不良"),
    ("233_球脫", "製程不良"),
    ("241_NSOP", "製程不良"),
    ("251_成型不飽", "製程不良"),
    ("252_氣孔", "製程不良"),
    ("255_溢膠", "製程不良"),
    ("262_電鍍不良", "製程不良"),
    ("265_鍍層厚度異常", "製程不良"),
    ("268_錫渣", "製程不良"),
    ("271_印字不良", "製程不良"),
    ("274_OPEN", "電性不良"),
    ("275_SHORT", "電性不良"),
    ("276_腳型不良", "製程不良"),
    ("278_VF_FAIL", "電性不良"),
    ("279_IR_FAIL", "電性不良"),
    ("281_VZ_FAIL", "電性不良"),
    ("290_包裝不良", "包裝不良"),
    ("301_外觀不良", "外觀不良"),
    ("358_工程試作", "工程"),
    ("360_首件", "工程"),
    ("402_設備異常", "設備不良"),
    ("505_機台拋料", "設備不良"),
    ("012_來料不良", "材料不良"),
    ("XXX_未分類", "其他"),
    ("ZZZ_TEST", "其他"),
    ("REWORK-SCRAP", "其他"),
    ("TEST SCRAP", "其他"),
    (None, "其他"),
)
REASON_INDEX = {name: i for i, (name, _) in enumerate(REASONS) if name}
_COMMON = {"358_工程試作": 0.3, "360_首件": 0.4, "402_設備異常": 0.4, "301_外觀不良": 0.5,
           "XXX_未分類": 0.15, "ZZZ_TEST": 0.05, "REWORK-SCRAP": 0.1,
           "TEST SCRAP": 0.04}  # fmt: skip
_BY_GROUP: dict[int, dict[str, float]] = {
    0: {"001_CRACK": 3, "105_CHIPPING": 4, "002_缺角": 2, "110_刮傷": 1},
    1: {"201_DB偏移": 4, "203_DIE_LIFT": 2, "210_銀膠溢出": 2, "001_CRACK": 1, "505_機台拋料": 1},
    2: {"231_WIRE_BREAK": 3, "233_球脫": 3, "241_NSOP": 2, "505_機台拋料": 0.5},
    3: {"201_DB偏移": 2, "203_DIE_LIFT": 2, "001_CRACK": 1},
    4: {"251_成型不飽": 3, "252_氣孔": 3, "255_溢膠": 2, "001_CRACK": 0.5},
    5: {"255_溢膠": 2, "110_刮傷": 1},
    6: {"110_刮傷": 2, "002_缺角": 1},
    7: {"262_電鍍不良": 4, "265_鍍層厚度異常": 2, "268_錫渣": 2},
    8: {"271_印字不良": 4, "110_刮傷": 1},
    9: {"276_腳型不良": 5, "002_缺角": 1, "505_機台拋料": 1},
    10: {"105_CHIPPING": 3, "002_缺角": 2, "001_CRACK": 1},
    11: {"274_OPEN": 3, "275_SHORT": 2, "278_VF_FAIL": 3, "279_IR_FAIL": 2, "281_VZ_FAIL": 1,
         "290_包裝不良": 1, "276_腳型不良": 1, "505_機台拋料": 2},
}  # fmt: skip


def reason_weights() -> np.ndarray:
    """(groups x reasons) probability of each reason at a reject of each station group."""
    w = np.zeros((len(GROUPS), len(REASONS)))
    for g in range(len(GROUPS)):
        for name, x in {**_COMMON, **_BY_GROUP.get(g, {})}.items():
            w[g, REASON_INDEX[name]] = x
        w[g, len(REASONS) - 1] = 0.1  # null reason
    return w / w.sum(axis=1, keepdims=True)


EXCLUDED_REASONS: tuple[tuple[str, str, str], ...] = (
    ("358", "工程試作 (engineering trial)", "Y"),
    ("360", "首件 (first article)", "Y"),
    ("505_機台拋料", "機台拋料 (machine pick-up loss), matched by full name", "Y"),
    ("402", "設備異常 (no longer excluded)", "N"),
    ("290", "包裝不良 (no longer excluded)", "N"),
)
"""erp_pj_wip_scrap_reasons_exclude rows: (reason_name, description, enable_flag)."""

REJECT_COMMENTS = ("OP確認報廢", "工程判定", "依MRB處理", "首件確認", "PE分析中", "機台異常")

# --- materials ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Material:
    part: str
    code: str  # material lot prefix: lot names are CODE-0001, CODE-0002, ...
    step: str
    per_piece: float  # qtyconsumed per piece moved in
    life_hours: float  # how long one material lot lasts
    families: tuple[str, ...]  # families consuming it


MATERIALS: tuple[Material, ...] = (
    Material("LF-SOT23-CU", "LFT", "db", 1 / 3000, 60, ("SOT",)),
    Material("LF-SOD323-CU", "LFS", "db", 1 / 3000, 90, ("SOD",)),
    Material("LF-DFN1006", "LFD", "db", 1 / 8000, 150, ("DFN",)),
    Material("LF-PB-SMX", "LFP", "dw", 1 / 600, 150, ("PB",)),
    Material("EPOXY-8200C", "EPX", "db", 4e-5, 72, ("SOT", "SOD", "DFN")),
    Material("SOLDER-SAC305", "SLD", "dw", 2e-4, 120, ("PB",)),
    Material("AU-WIRE-0.8MIL", "AW", "wb", 1.2e-3, 48, ("SOT", "SOD")),
    Material("CU-WIRE-1.0MIL", "CW", "wb", 1.2e-3, 96, ("DFN",)),
    Material("EMC-G700", "EMC", "mold", 0.02, 72, ("SOT", "SOD", "DFN")),
    Material("EMC-KL-G900", "EMK", "mold", 0.05, 120, ("PB",)),
    Material("SN-ANODE-9999", "SN", "plate", 2e-4, 96, ("SOT", "SOD", "DFN", "PB")),
)

# --- holds, jobs ------------------------------------------------------------------------------
QUALITY_HOLD_REASONS: tuple[tuple[str | None, float], ...] = (
    ("YieldLimit", 4), ("BPM Hold", 2), ("SBL Limit(PE)", 2), ("Q-Time", 2), ("OOC", 1),
    ("客訴追查", 0.5), (None, 1),
)  # fmt: skip
NON_QUALITY_HOLD_REASONS: tuple[str, ...] = DEFAULT_NON_QUALITY_HOLD_REASONS
HOLD_DEPTS = ("QC", "PE", "PD", "RD", "MFG", "QA")
HOLD_COMMENTS = ("良率低於管制下限", "待PE確認", "SPC異常", "超過Q-Time", "客戶特殊要求",
                 "等待樣品確認", "待工程判定")  # fmt: skip
FUTURE_HOLD_COMMENTS = ("下站TMTT前Hold,待PE確認", "入庫前Hold,待QC確認", "電鍍後Hold送樣")
JOB_MODELS = (("PM_Daily", "PM"), ("PM_Weekly", "PM"), ("PM_Monthly", "PM"),
              ("BM_Repair", "BM"), ("Setup_Change", "SU"), ("Calibration", "CAL"))  # fmt: skip
CAUSE_CODES = ("磨耗", "人為操作", "來料異常", "電控異常", "氣壓不足", "程式錯誤")
REPAIR_CODES = ("更換零件", "調整參數", "清潔保養", "重新校正", "更換治具")
SYMPTOM_CODES = ("Alarm停機", "卡料", "良率偏低", "拋料", "異音", "尺寸異常")


@dataclass
class Factory:
    """Machines and specs of one scale, with code → text vocabularies."""

    machine_name: list[str]
    machine_wc: np.ndarray  # workcenter code per machine
    machine_family: list[str]
    wc_machine_start: np.ndarray  # first machine code per workcenter
    wc_machine_count: np.ndarray
    spec_name: list[str]
    spec_code: np.ndarray  # (steps, workcenters, families) -> spec code, -1 if none
    step_wc: np.ndarray  # (products, steps) workcenter code of a product at a step
    route: np.ndarray  # (products, steps) bool
    product_family: np.ndarray  # family code per product
    material_lot_start: np.ndarray  # first material-lot code per material
    material_lot_count: np.ndarray
    material_lot_name: list[str]
    material_lot_material: np.ndarray  # material code per material lot


def build_factory(machine_factor: float, days: int) -> Factory:
    """Number the machines, name the specs and material lots of one scale."""
    names: list[str] = []
    wcs: list[int] = []
    models: list[str] = []
    start = np.zeros(len(WORKCENTERS), dtype=np.int64)
    count = np.zeros(len(WORKCENTERS), dtype=np.int64)
    for i, wc in enumerate(WORKCENTERS):
        start[i] = len(names)
        if wc.prefix is None:
            continue
        n = max(5, round(wc.machines * machine_factor))
        count[i] = n
        for k in range(1, n + 1):
            names.append(f"{wc.prefix}-{k:0{wc.digits}d}")
            wcs.append(i)
            models.append(wc.models[(k - 1) * len(wc.models) // n])
    spec_names: list[str] = []
    spec_code = np.full((N_STEPS, len(WORKCENTERS), len(FAMILIES)), -1, dtype=np.int64)
    for si, step in enumerate(STEPS):
        for wc_name in step.wcs:
            for fi, fam in enumerate(FAMILIES):
                tag = f"-{wc_name}" if len(step.wcs) > 1 else ""
                spec_code[si, WC_INDEX[wc_name], fi] = len(spec_names)
                spec_names.append(f"{step.spec}{tag}-{fam}")
    step_wc = np.zeros((len(PRODUCTS), N_STEPS), dtype=np.int64)
    route = np.zeros((len(PRODUCTS), N_STEPS), dtype=bool)
    for pi, p in enumerate(PRODUCTS):
        route[pi] = route_of(p)
        for si, step in enumerate(STEPS):
            wc_name = step.wcs[0]
            if step.key in ("plate_pre", "plate", "plate_qc"):
                wc_name = plating_wc(p)
            elif step.key in ("pkg_saw", "pkg_saw_qc"):
                wc_name = "PKG_SAW" if p.package == "DFN1006-3L" else "元件切割"
            step_wc[pi, si] = WC_INDEX[wc_name]
    lot_names: list[str] = []
    lot_material: list[int] = []
    lot_start = np.zeros(len(MATERIALS), dtype=np.int64)
    lot_count = np.zeros(len(MATERIALS), dtype=np.int64)
    for mi, m in enumerate(MATERIALS):
        n = int(np.ceil((days + 40) * 24 / m.life_hours)) + 2
        lot_start[mi] = len(lot_names)
        lot_count[mi] = n
        lot_names.extend(f"{m.code}-{k:04d}" for k in range(1, n + 1))
        lot_material.extend([mi] * n)
    return Factory(
        machine_name=names,
        machine_wc=np.asarray(wcs, dtype=np.int64),
        machine_family=models,
        wc_machine_start=start,
        wc_machine_count=count,
        spec_name=spec_names,
        spec_code=spec_code,
        step_wc=step_wc,
        route=route,
        product_family=np.array([FAMILIES.index(p.family) for p in PRODUCTS]),
        material_lot_start=lot_start,
        material_lot_count=lot_count,
        material_lot_name=lot_names,
        material_lot_material=np.asarray(lot_material, dtype=np.int64),
    )
