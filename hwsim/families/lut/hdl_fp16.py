"""Amaranth tiles of the LUT family on FP16 (IEEE binary16) activations.

:class:`LutFp16Tile` is the LUT tensor core tile of :mod:`hwsim.families.lut.hdl` with a
binary16 datapath: the table precompute unit builds every stored entry as a chain of
:class:`~hwsim.blocks.fp16.Fp16Adder` units, the lookup array sums a step's groups with
adders, the bit-plane weight ``2**b`` is an exponent add
(:class:`~hwsim.blocks.fp16.Fp16ExpShift`, exact below overflow), and the accumulators and
the output are binary16. :class:`MacFp16Tile` is its baseline: one MixPE dequantiser
(:class:`hwsim.blocks.fp16.Fp16Dequantiser`: ``scale * (code - zero)``, one
binary16 multiply) per weight of the step, shared by the tile's rows, then a binary16
multiplier and adder per product, chained over the step's K.

The arithmetic, and its order, is :mod:`hwsim.families.lut.golden_fp16`'s. Streams,
handshakes, run-time inputs (``w_bits``, ``mode``) and timing are those of the integer
tiles (:mod:`hwsim.families.lut.hdl`), so :mod:`hwsim.families.lut.model` and
:mod:`hwsim.families.lut.cyclesim` count their cycles unchanged; only the element widths
differ: activations and outputs are 16-bit patterns, and a MAC weight lane is 24 bits
(code in bits 0..3, zero point in 4..7, binary16 scale in 8..23).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from hwsim.blocks.fp16 import Fp16Adder, Fp16ExpShift, Fp16Multiplier
from hwsim.families.lut.config import MAX_W_BITS, WEIGHT_MODES, LutConfig
from hwsim.families.lut.hdl import lut_handshakes, mac_handshakes, table_entry

#: Width of one MAC weight lane (MixPE's dequantiser lane).
LANE_BITS = 24
MODE_CODES = {name: i for i, name in enumerate(WEIGHT_MODES)}

__all__ = ["LANE_BITS", "LutFp16Tile", "MacFp16Tile"]


def _ports(cfg: LutConfig, wgt_bits: int) -> dict:
    act_layout = data.StructLayout({"data": cfg.tile_m * cfg.tile_k * 16, "last": 1})
    return {
        "act": In(stream.Signature(act_layout)),
        "wgt": In(stream.Signature(wgt_bits)),
        "out": Out(stream.Signature(cfg.tile_m * cfg.tile_n * 16)),
        "w_bits": In(3),
        "mode": In(2),
    }


def _neg(x):
    """Sign flip of a binary16 pattern (exact)."""
    return Cat(x[:15], ~x[15])


class _Units:
    """Adds binary16 units to a module, named for the netlist. Each operand goes through a
    wire of its own, so every instance of a unit has whole 16-bit ports and the Verilog
    writer merges the identical modules into one."""

    def __init__(self, m: Module):
        self.m = m

    def _wire(self, x, name: str, width: int = 16):
        w = Signal(width, name=name)
        self.m.d.comb += w.eq(x)
        return w

    def add(self, a, b, name: str):
        u = Fp16Adder()
        self.m.submodules[name] = u
        self.m.d.comb += [u.a.eq(self._wire(a, f"{name}_a")), u.b.eq(self._wire(b, f"{name}_b"))]
        return u.o

    def shift(self, x, s, name: str, shift_bits: int):
        u = Fp16ExpShift(shift_bits)
        self.m.submodules[name] = u
        self.m.d.comb += [u.x.eq(self._wire(x, f"{name}_x")), u.s.eq(s)]
        return u.o

    def mul(self, a, b, name: str):
        u = Fp16Multiplier()
        self.m.submodules[name] = u
        self.m.d.comb += [u.a.eq(self._wire(a, f"{name}_a")), u.b.eq(self._wire(b, f"{name}_b"))]
        return u.o

    def chain(self, terms, name: str):
        """Left-to-right sum of ``terms`` (one adder per term after the first)."""
        total = terms[0]
        for i, t in enumerate(terms[1:], 1):
            total = self.add(total, t, f"{name}_{i}")
        return total


def _activations(cfg: LutConfig, payload) -> list[list]:
    return [[payload[(r * cfg.tile_k + i) * 16:(r * cfg.tile_k + i + 1) * 16] for i in range(cfg.tile_k)]
            for r in range(cfg.tile_m)]


def _check(cfg: LutConfig):
    if not isinstance(cfg, LutConfig) or cfg.act_format != "fp16":
        raise ValueError("the FP16 tiles need a LutConfig with act_format 'fp16'")


class LutFp16Tile(wiring.Component):
    """LUT tensor core tile on binary16 activations (see the module docstring).

    Examples
    --------
    >>> from amaranth.back import verilog
    >>> v = verilog.convert(LutFp16Tile(LutConfig(act_format="fp16", tile_m=1, tile_n=1, tile_k=2, k_group=2)),
    ...                     name="lut_tile")
    >>> "module lut_tile" in v
    True
    """

    def __init__(self, cfg: LutConfig):
        _check(cfg)
        self.cfg = cfg
        super().__init__(_ports(cfg, cfg.tile_n * cfg.tile_k))

    def elaborate(self, platform):
        cfg = self.cfg
        m = Module()
        u = _Units(m)
        tm, tn, tk, k = cfg.tile_m, cfg.tile_n, cfg.tile_k, cfg.k_group
        groups, entries = cfg.tables_per_row, cfg.table_entries

        # --- table precompute unit: each stored entry a left-to-right chain of adds ----
        acts = _activations(cfg, self.act.payload.data)
        tab = [[[Signal(16, name=f"tab_{r}_{j}_{e}") for e in range(entries)] for j in range(groups)]
               for r in range(tm)]
        new_tab = [[[] for _ in range(groups)] for _ in range(tm)]
        new_rowsum = []
        for r in range(tm):
            for j in range(groups):
                for e in range(entries):
                    terms = [acts[r][j * k + i] if (e >> i) & 1 else _neg(acts[r][j * k + i]) for i in range(k)]
                    t = Signal(16, name=f"tnew_{r}_{j}_{e}")
                    m.d.comb += t.eq(u.chain(terms, f"tadd_{r}_{j}_{e}"))
                    new_tab[r][j].append(t)
            s = Signal(16, name=f"rowsum_new_{r}")  # entry 0 is -(sum of the group)
            m.d.comb += s.eq(u.chain([_neg(new_tab[r][j][0]) for j in range(groups)], f"rsadd_{r}"))
            new_rowsum.append(s)

        tab_valid = Signal()
        tab_last = Signal()
        plane = Signal(range(MAX_W_BITS))
        acc = [[Signal(16, name=f"acc_{r}_{n}") for n in range(tn)] for r in range(tm)]
        rowsum = [Signal(16, name=f"rowsum_{r}") for r in range(tm)]
        out_reg = [[Signal(16, name=f"out_{r}_{n}") for n in range(tn)] for r in range(tm)]
        m.d.comb += self.out.payload.eq(Cat(*[out_reg[r][n] for r in range(tm) for n in range(tn)]))

        last_plane, finishing, lookup_fire, act_fire = lut_handshakes(m, self, tab_valid, tab_last, plane)
        restart = Signal()
        m.d.comb += restart.eq(lookup_fire & finishing)

        # --- lookup array: groups summed left to right, plane weight by exponent add -------
        bits = self.wgt.payload
        total = [[None] * tn for _ in range(tm)]
        for r in range(tm):
            for n in range(tn):
                vals = []
                for j in range(groups):
                    p = bits[n * tk + j * k:n * tk + (j + 1) * k]
                    look = Signal(16, name=f"look_{r}_{n}_{j}")
                    m.d.comb += look.eq(table_entry(cfg, tab[r][j], p, _neg))
                    vals.append(look)
                c = Signal(16, name=f"contrib_{r}_{n}")
                m.d.comb += c.eq(u.shift(u.chain(vals, f"gadd_{r}_{n}"), plane, f"pshift_{r}_{n}", 3))
                t = Signal(16, name=f"sum_{r}_{n}")
                m.d.comb += t.eq(u.add(acc[r][n], c, f"aadd_{r}_{n}"))
                total[r][n] = t

        # --- output stage: weight-mode correction, then halve (exponent - 1) ---------------
        halve = Signal()
        m.d.comb += halve.eq(self.mode != MODE_CODES["symmetric"])
        corr = []
        for r in range(tm):
            c = Signal(16, name=f"corr_{r}")
            unsigned_corr = u.add(u.shift(rowsum[r], self.w_bits, f"ushift_{r}", 4), _neg(rowsum[r]), f"uadd_{r}")
            with m.Switch(self.mode):
                with m.Case(MODE_CODES["unsigned"]):
                    m.d.comb += c.eq(unsigned_corr)
                with m.Default():
                    m.d.comb += c.eq(_neg(rowsum[r]))
            corr.append(c)

        result = [[None] * tn for _ in range(tm)]
        for r in range(tm):
            for n in range(tn):
                fin = u.shift(u.add(total[r][n], corr[r], f"oadd_{r}_{n}"), -1, f"ohalf_{r}_{n}", 2)
                res = Signal(16, name=f"fin_{r}_{n}")
                m.d.comb += res.eq(Mux(halve, fin, total[r][n]))
                result[r][n] = res

        with m.If(lookup_fire):
            with m.If(last_plane):
                m.d.sync += plane.eq(0)
                with m.If(~act_fire):
                    m.d.sync += tab_valid.eq(0)
            with m.Else():
                m.d.sync += plane.eq(plane + 1)
            for r in range(tm):
                for n in range(tn):
                    with m.If(finishing):
                        m.d.sync += [acc[r][n].eq(0), out_reg[r][n].eq(result[r][n])]
                    with m.Else():
                        m.d.sync += acc[r][n].eq(total[r][n])

        with m.If(act_fire):
            m.d.sync += [tab_valid.eq(1), tab_last.eq(self.act.payload.last)]
            for r in range(tm):
                for j in range(groups):
                    for e in range(entries):
                        m.d.sync += tab[r][j][e].eq(new_tab[r][j][e])

        # row sums: from +0 at each block, one add per K step
        for r in range(tm):
            nxt = u.add(Mux(restart, 0, rowsum[r]), new_rowsum[r], f"rsacc_{r}")
            with m.If(act_fire):
                m.d.sync += rowsum[r].eq(nxt)
            with m.Elif(restart):
                m.d.sync += rowsum[r].eq(0)

        with m.If(restart):
            m.d.sync += self.out.valid.eq(1)
        with m.Elif(self.out.ready):
            m.d.sync += self.out.valid.eq(0)
        return m


class MacFp16Tile(wiring.Component):
    """FP16 MAC baseline tile of the same shape: one MixPE dequantiser per weight of the
    step, then per output ``acc = acc + a_i * w_i`` for ``i`` ascending (binary16
    multiplier and adder per product), one K step per cycle.

    Examples
    --------
    >>> from amaranth.back import verilog
    >>> cfg = LutConfig(act_format="fp16", core="mac", tile_m=1, tile_n=1, tile_k=2, k_group=2)
    >>> "module mac_tile" in verilog.convert(MacFp16Tile(cfg), name="mac_tile")
    True
    """

    def __init__(self, cfg: LutConfig):
        _check(cfg)
        self.cfg = cfg
        super().__init__(_ports(cfg, cfg.tile_n * cfg.tile_k * LANE_BITS))

    def elaborate(self, platform):
        from hwsim.blocks.fp16 import Fp16Dequantiser

        cfg = self.cfg
        m = Module()
        u = _Units(m)
        tm, tn, tk = cfg.tile_m, cfg.tile_n, cfg.tile_k
        acts = _activations(cfg, self.act.payload.data)

        # dequantisation: one unit per weight of the step, shared by the tile's rows
        signed_codes = Signal()
        m.d.comb += signed_codes.eq(self.mode != MODE_CODES["unsigned"])
        w = [[None] * tk for _ in range(tn)]
        for n in range(tn):
            for i in range(tk):
                dq = Fp16Dequantiser()
                m.submodules[f"dequant_{n}_{i}"] = dq
                lo = (n * tk + i) * LANE_BITS
                d = Signal(16, name=f"wdq_{n}_{i}")
                m.d.comb += [dq.lane.eq(self.wgt.payload[lo:lo + LANE_BITS]), dq.msb_negative.eq(signed_codes),
                             d.eq(dq.o)]
                w[n][i] = d

        out_reg = [[Signal(16, name=f"out_{r}_{n}") for n in range(tn)] for r in range(tm)]
        acc = [[Signal(16, name=f"acc_{r}_{n}") for n in range(tn)] for r in range(tm)]
        m.d.comb += self.out.payload.eq(Cat(*[out_reg[r][n] for r in range(tm) for n in range(tn)]))

        go, finishing = mac_handshakes(m, self)
        for r in range(tm):
            for n in range(tn):
                t = acc[r][n]
                for i in range(tk):
                    t = u.add(t, u.mul(acts[r][i], w[n][i], f"mul_{r}_{n}_{i}"), f"add_{r}_{n}_{i}")
                total = Signal(16, name=f"sum_{r}_{n}")
                m.d.comb += total.eq(t)
                with m.If(finishing):
                    m.d.sync += [acc[r][n].eq(0), out_reg[r][n].eq(total)]
                with m.Elif(go):
                    m.d.sync += acc[r][n].eq(total)
        with m.If(finishing):
            m.d.sync += self.out.valid.eq(1)
        with m.Elif(self.out.ready):
            m.d.sync += self.out.valid.eq(0)
        return m
