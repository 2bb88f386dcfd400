"""``hwsim cost sram|show``: price one SRAM, or list a design's priced components."""

from __future__ import annotations

import sys

import yaml

from hwsim.cli.common import print_json
from hwsim.errors import ConfigError


def _tech(node_nm: int):
    from hwsim.cost.tech import load_tech

    try:
        return load_tech(node_nm)
    except ConfigError as e:
        raise ConfigError("--node-nm", e.reason) from None


def cmd_sram(args) -> int:
    tech = _tech(args.node_nm)
    if not args.size_kb > 0:
        raise ConfigError("--size-kb", f"must be positive, not {args.size_kb:g}")
    size = args.size_kb * 1024
    if size != int(size):
        raise ConfigError("--size-kb", f"must be a whole number of bytes, not {args.size_kb:g} KiB")
    try:
        m = tech.sram(int(size), args.width_bits, freq_mhz=args.freq_mhz, banks=args.banks)
    except ConfigError as e:
        opt = {"size_bytes": "--size-kb", "width_bits": "--width-bits", "freq_mhz": "--freq-mhz",
               "banks": "--banks"}.get(e.key, e.key)
        raise ConfigError(opt, e.reason) from None
    d = {"size_bytes": int(size), "width_bits": args.width_bits, "node_nm": tech.node_nm,
         "freq_mhz": args.freq_mhz, "banks": m.banks,
         "read_pj": m.read.value, "write_pj": m.write.value,
         "read_pj_per_bit": m.read.value / args.width_bits,
         "leakage_mw": m.leakage.value, "area_um2": m.area.value,
         "bank_cycle_ns": m.bank_cycle_ns, "bank_access_ns": m.bank_access_ns,
         "source": {"energy": m.read.source, "area": m.area.source, "leakage": m.leakage.source}}
    if args.json:
        return print_json(d)
    w = sys.stdout.write
    w(f"SRAM {args.size_kb:g} KiB x {args.width_bits} bits at {tech.node_nm} nm, {m.banks} bank(s)\n")
    w(f"  read   {m.read.value:10.3f} pJ/access ({d['read_pj_per_bit']:.4f} pJ/bit)\n")
    w(f"  write  {m.write.value:10.3f} pJ/access\n")
    w(f"  leak   {m.leakage.value:10.4g} mW\n  area   {m.area.value:10.0f} um^2\n")
    w(f"  bank cycle {m.bank_cycle_ns:.3f} ns, access {m.bank_access_ns:.3f} ns\n  source {m.read.source}\n")
    return 0


def _design(items) -> dict:
    out = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError("--design", f"must be key=value, not {item!r}")
        try:
            out[key] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise ConfigError("--design", f"{key}: cannot read the value {value!r}") from None
    return out


def cmd_show(args) -> int:
    from hwsim.evaluate import get_family

    fam = get_family(args.family, "FAMILY")
    cfg = fam.check_design(_design(args.design), "--design")
    if fam.cost is None:
        raise ConfigError("FAMILY", f"family {args.family!r} has no cost hooks")
    inputs = fam.cost.inputs(cfg)
    design = getattr(inputs, "design", None)
    if design is None:
        raise ConfigError("FAMILY", f"family {args.family!r} does not declare cost components")
    tech = _tech(args.node_nm)
    comps = [c.describe(tech) for c in design.components]
    routes = {a: [{"component": r.component, "action": r.action, "factor": r.factor, "why": r.why} for r in rs]
              for a, rs in design.routes.items()}
    d = {"family": args.family, "node_nm": tech.node_nm, "design": cfg.to_dict(), "components": comps,
         "routes": routes}
    if args.json:
        return print_json(d)
    w = sys.stdout.write
    w(f"{args.family} at {tech.node_nm} nm\n")
    for c in comps:
        area = "-" if c["area_um2"] is None else f"{c['area_um2']:,.0f} um^2"
        leak = "-" if c["leakage_mw"] is None else f"{c['leakage_mw']:.4g} mW"
        extra = f", {c['banks']} bank(s), read {c['read_pj']:.3f} pJ" if "banks" in c else ""
        w(f"  {c['name']:<10s} {c['class']:<14s} part {c['part']:<12s} area {area:>16s}  leak {leak:>10s}{extra}\n")
    return 0


def register(sub) -> None:
    p = sub.add_parser("cost", help="price an SRAM, or show a design's cost components",
                       description="Cost model queries: one SRAM from the CACTI table, or the components "
                       "a family's design is priced from.")
    csub = p.add_subparsers(dest="cost_command", metavar="ACTION", parser_class=type(p))
    csub.required = True
    ps = csub.add_parser("sram", help="energy, leakage, area and banks of one SRAM buffer",
                         description="Energy per read and write, leakage, area, cycle time and banks of an "
                         "SRAM buffer, from the shipped CACTI 7 table (45 nm, node-scaled).")
    ps.add_argument("--size-kb", type=float, required=True, help="capacity (KiB)")
    ps.add_argument("--width-bits", type=int, required=True, help="port width: bits per access")
    ps.add_argument("--node-nm", type=int, default=45, help="process node (default 45)")
    ps.add_argument("--freq-mhz", type=float, default=None,
                    help="clock the buffer serves one access per cycle at (sets the banks)")
    ps.add_argument("--banks", type=int, default=None, help="force the bank count")
    ps.add_argument("--json", action="store_true", help="print a JSON object")
    ps.set_defaults(func=cmd_sram)
    pw = csub.add_parser("show", help="the priced components of a family's design",
                         description="List the components (area, leakage, energy per action, sources) a "
                         "design is priced from, and how its model's actions are charged to them.")
    pw.add_argument("family", metavar="FAMILY", help="family name (see 'hwsim families')")
    pw.add_argument("--design", action="append", metavar="KEY=VALUE", help="config field (repeatable)")
    pw.add_argument("--node-nm", type=int, default=45, help="process node (default 45)")
    pw.add_argument("--json", action="store_true", help="print a JSON object")
    pw.set_defaults(func=cmd_show)
