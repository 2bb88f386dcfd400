"""Amaranth tiles of the LUT tensor core family: the LUT tile and its MAC baseline.

Both tiles take the same configuration (:class:`hwsim.families.lut.config.LutConfig`) and the
same activation stream, compute a ``tile_m x tile_n`` output block over as many K steps
as the feeder sends (the step carrying ``last`` closes the block), and return the block on
one output beat. The weight precision (1..4 bits) and weight mode are run-time inputs,
held constant during a GEMM, so one generated design serves every precision; only the
tile shape, ``k_group``, ``symmetric_table``, ``table_bits``, ``act_format`` and
``acc_bits`` shape the hardware.

Streams (``amaranth.lib.stream``, valid/ready):

``act``
    payload ``data`` (``tile_m * tile_k`` activations, element ``r * tile_k + i`` at bits
    ``[(r*tile_k + i) * a_bits, ...)``) and ``last`` (the block's final K step).
``wgt``
    LUT tile: one bit plane per beat, ``tile_n * tile_k`` bits, bit ``n * tile_k + i``;
    planes 0..w_bits-1 in order after each activation beat.
    MAC tile: the whole step's codes, ``tile_n * tile_k`` fields of 4 bits
    (code ``n * tile_k + i`` at bits ``[(n*tile_k + i) * 4, ...)``).
``out``
    ``tile_m * tile_n`` results of ``acc_bits`` (element ``r * tile_n + n``).

Static inputs: ``w_bits`` (1..4) and ``mode`` (0 symmetric, 1 signed, 2 unsigned; see
:data:`hwsim.families.lut.config.WEIGHT_MODES`).

The arithmetic is that of :mod:`hwsim.families.lut.golden`, and the timing that of
:mod:`hwsim.families.lut.model` / :mod:`hwsim.families.lut.cyclesim`.
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from hwsim.families.lut.config import MAX_W_BITS, WEIGHT_MODES, LutConfig
from hwsim.errors import ConfigError

#: Width of one weight code field on the MAC tile's weight stream.
MAC_CODE_BITS = MAX_W_BITS
MODE_CODES = {name: i for i, name in enumerate(WEIGHT_MODES)}


def check_config(cfg: LutConfig) -> None:
    """Raise :class:`ConfigError` unless the tiles can be generated for ``cfg``."""
    if not isinstance(cfg, LutConfig):
        raise ConfigError("cfg", f"must be a LutConfig, not {cfg!r}")
    if not cfg.is_integer:
        raise ConfigError("act_format", f"the RTL supports integer activations only, not {cfg.act_format!r}")
    if cfg.lookup_units is not None and cfg.lookup_units != cfg.full_lookup_units:
        raise ConfigError("lookup_units", f"the RTL builds one unit per lookup "
                          f"({cfg.full_lookup_units}), not {cfg.lookup_units}")


def _ports(cfg: LutConfig, wgt_bits: int) -> dict:
    act_layout = data.StructLayout({"data": unsigned(cfg.tile_m * cfg.tile_k * cfg.a_bits), "last": 1})
    return {
        "act": In(stream.Signature(act_layout)),
        "wgt": In(stream.Signature(unsigned(wgt_bits))),
        "out": Out(stream.Signature(unsigned(cfg.tile_m * cfg.tile_n * cfg.acc_bits))),
        "w_bits": In(3),
        "mode": In(2),
    }


def _activations(cfg: LutConfig, payload) -> list[list]:
    a = cfg.a_bits
    return [[payload[(r * cfg.tile_k + i) * a:(r * cfg.tile_k + i + 1) * a].as_signed()
             for i in range(cfg.tile_k)] for r in range(cfg.tile_m)]


def lut_handshakes(m: Module, tile, tab_valid, tab_last, plane):
    """The LUT tile's stream handshakes (the integer and the FP16 tile share them): a
    weight plane is looked up while the table holds a K step (and, on the block's last
    plane, only once the output register is free); the next activation beat is taken when
    the table is empty or in the cycle its last plane is looked up. Returns
    ``(last_plane, finishing, lookup_fire, act_fire)``."""
    last_plane = plane == (tile.w_bits - 1)
    finishing = tab_valid & tab_last & last_plane
    out_free = ~tile.out.valid | tile.out.ready
    lookup_fire = Signal()
    act_fire = Signal()
    m.d.comb += [
        tile.wgt.ready.eq(tab_valid & (out_free | ~finishing)),
        lookup_fire.eq(tile.wgt.valid & tile.wgt.ready),
        tile.act.ready.eq(~tab_valid | (lookup_fire & last_plane)),
        act_fire.eq(tile.act.valid & tile.act.ready),
    ]
    return last_plane, finishing, lookup_fire, act_fire


def mac_handshakes(m: Module, tile):
    """The MAC tile's stream handshakes (the integer and the FP16 tile share them): an
    activation and a weight beat are taken together, the block's last one only once the
    output register is free. Returns ``(go, finishing)``."""
    out_free = ~tile.out.valid | tile.out.ready
    room = out_free | ~tile.act.payload.last
    go = Signal()
    m.d.comb += [
        tile.act.ready.eq(tile.wgt.valid & room),
        tile.wgt.ready.eq(tile.act.valid & room),
        go.eq(tile.act.valid & tile.wgt.valid & room),
    ]
    finishing = go & tile.act.payload.last
    return go, finishing


def table_entry(cfg: LutConfig, entries: list, p, neg):
    """The table entry a ``k_group``-bit weight pattern ``p`` selects from one group's
    ``entries``; a symmetric table stores the half whose top bit is 0, so a pattern with
    its top bit set reads the complement's entry and negates it (``neg``)."""
    k = cfg.k_group
    if not cfg.symmetric_table:
        return Array(entries)[p]
    if k == 1:
        v = entries[0]
    else:
        low = p[:k - 1]
        idx = Mux(p[k - 1], ~low, low)
        v = Array(entries)[idx]
    return Mux(p[k - 1], neg(v), v)


class LutTile(wiring.Component):
    """LUT tensor core tile: table precompute unit, lookup array, bit-serial accumulators
    and the weight-mode output stage.

    Parameters
    ----------
    cfg : LutConfig

    Examples
    --------
    >>> from amaranth.back import verilog
    >>> v = verilog.convert(LutTile(LutConfig(tile_m=1, tile_n=2, tile_k=4)), name="lut_tile")
    >>> "module lut_tile" in v
    True
    """

    def __init__(self, cfg: LutConfig):
        check_config(cfg)
        self.cfg = cfg
        super().__init__(_ports(cfg, cfg.tile_n * cfg.tile_k))

    def elaborate(self, platform):
        cfg = self.cfg
        m = Module()
        tm, tn, tk, k = cfg.tile_m, cfg.tile_n, cfg.tile_k, cfg.k_group
        groups, entries = cfg.tables_per_row, cfg.table_entries
        tb, shift, acc_bits = cfg.stored_table_bits, cfg.table_shift, cfg.acc_bits

        # --- table precompute unit (combinational; registered into `tab`) -----------
        acts = _activations(cfg, self.act.payload.data)
        tab = [[[Signal(signed(tb), name=f"tab_{r}_{j}_{e}") for e in range(entries)]
                for j in range(groups)] for r in range(tm)]
        new_tab = [[[] for _ in range(groups)] for _ in range(tm)]
        new_rowsum = []
        for r in range(tm):
            row_total = 0
            for j in range(groups):
                for e in range(entries):
                    terms = [acts[r][j * k + i] if (e >> i) & 1 else -acts[r][j * k + i] for i in range(k)]
                    total = terms[0]
                    for t in terms[1:]:
                        total = total + t
                    exact = Signal(signed(cfg.table_bits_exact), name=f"tnew_{r}_{j}_{e}")
                    m.d.comb += exact.eq(total)
                    new_tab[r][j].append(exact >> shift if shift else exact)
                row_total = row_total - new_tab[r][j][0]  # entry 0 is -(sum of the group)
            s = Signal(signed(acc_bits), name=f"rowsum_new_{r}")
            m.d.comb += s.eq(row_total)
            new_rowsum.append(s)

        tab_valid = Signal()
        tab_last = Signal()
        plane = Signal(range(MAX_W_BITS))
        acc = [[Signal(signed(acc_bits), name=f"acc_{r}_{n}") for n in range(tn)] for r in range(tm)]
        rowsum = [Signal(signed(acc_bits), name=f"rowsum_{r}") for r in range(tm)]
        out_reg = [[Signal(signed(acc_bits), name=f"out_{r}_{n}") for n in range(tn)] for r in range(tm)]
        m.d.comb += self.out.payload.eq(Cat(*[out_reg[r][n] for r in range(tm) for n in range(tn)]))

        last_plane, finishing, lookup_fire, act_fire = lut_handshakes(m, self, tab_valid, tab_last, plane)

        # --- lookup array --------------------------------------------------------------
        bits = self.wgt.payload
        contrib = [[None] * tn for _ in range(tm)]
        for r in range(tm):
            for n in range(tn):
                total = 0
                for j in range(groups):
                    p = bits[n * tk + j * k:n * tk + (j + 1) * k]
                    total = total + table_entry(cfg, tab[r][j], p, lambda v: -v)
                c = Signal(signed(tb + groups.bit_length() + 1), name=f"look_{r}_{n}")
                m.d.comb += c.eq(total)
                sh = Signal(signed(acc_bits), name=f"contrib_{r}_{n}")
                m.d.comb += sh.eq(c << plane)
                contrib[r][n] = sh

        # --- output stage: weight-mode correction, table shift restore ------------------
        # The correction c * rowsum depends on the row only, so it is formed once per row
        # (c = -1 signed, 2**w_bits - 1 unsigned, 0 symmetric) and each output adds it.
        halve = Signal()
        m.d.comb += halve.eq(self.mode != MODE_CODES["symmetric"])
        corr = []
        for r in range(tm):
            c = Signal(signed(acc_bits), name=f"corr_{r}")
            with m.Switch(self.mode):
                with m.Case(MODE_CODES["signed"]):
                    m.d.comb += c.eq(-rowsum[r])
                with m.Case(MODE_CODES["unsigned"]):
                    m.d.comb += c.eq((rowsum[r] << self.w_bits) - rowsum[r])
                with m.Default():
                    m.d.comb += c.eq(0)
            corr.append(c)

        def finalize(total, r):
            t = Signal(signed(acc_bits), name=f"fin_{r}")
            m.d.comb += t.eq((total + corr[r]) << shift)
            return Mux(halve, t >> 1, t)

        with m.If(lookup_fire):
            with m.If(last_plane):
                m.d.sync += plane.eq(0)
                with m.If(~act_fire):
                    m.d.sync += tab_valid.eq(0)
            with m.Else():
                m.d.sync += plane.eq(plane + 1)
            for r in range(tm):
                for n in range(tn):
                    total = Signal(signed(acc_bits), name=f"sum_{r}_{n}")
                    m.d.comb += total.eq(acc[r][n] + contrib[r][n])
                    with m.If(finishing):
                        m.d.sync += [acc[r][n].eq(0), out_reg[r][n].eq(finalize(total, r))]
                    with m.Else():
                        m.d.sync += acc[r][n].eq(total)

        with m.If(act_fire):
            m.d.sync += [tab_valid.eq(1), tab_last.eq(self.act.payload.last)]
            for r in range(tm):
                for j in range(groups):
                    for e in range(entries):
                        m.d.sync += tab[r][j][e].eq(new_tab[r][j][e])

        for r in range(tm):
            with m.If(lookup_fire & finishing):
                m.d.sync += rowsum[r].eq(Mux(act_fire, new_rowsum[r], 0))
            with m.Elif(act_fire):
                m.d.sync += rowsum[r].eq(rowsum[r] + new_rowsum[r])

        with m.If(lookup_fire & finishing):
            m.d.sync += self.out.valid.eq(1)
        with m.Elif(self.out.ready):
            m.d.sync += self.out.valid.eq(0)
        return m


class MacTile(wiring.Component):
    """MAC tensor core tile of the same shape: dequantise each weight code to an
    ``a_bits`` integer, ``tile_m x tile_n x tile_k`` multiplies and adder trees per K step.

    Examples
    --------
    >>> from amaranth.back import verilog
    >>> "module mac_tile" in verilog.convert(MacTile(LutConfig(tile_m=1, tile_n=2, tile_k=4)), name="mac_tile")
    True
    """

    def __init__(self, cfg: LutConfig):
        check_config(cfg)
        self.cfg = cfg
        super().__init__(_ports(cfg, cfg.tile_n * cfg.tile_k * MAC_CODE_BITS))

    def elaborate(self, platform):
        cfg = self.cfg
        m = Module()
        tm, tn, tk = cfg.tile_m, cfg.tile_n, cfg.tile_k
        acc_bits = cfg.acc_bits
        acts = _activations(cfg, self.act.payload.data)

        # Dequantisation: one unit per weight of the step, shared by the tile's rows.
        full = Signal(MAX_W_BITS + 1)  # 2**w_bits - 1
        half = Signal(MAX_W_BITS)      # 2**(w_bits - 1)
        m.d.comb += [full.eq((Const(1, 1) << self.w_bits) - 1), half.eq((Const(1, 1) << self.w_bits) >> 1)]
        w = [[None] * tk for _ in range(tn)]
        for n in range(tn):
            for i in range(tk):
                lo = (n * tk + i) * MAC_CODE_BITS
                q = self.wgt.payload[lo:lo + MAC_CODE_BITS]
                d = Signal(signed(cfg.a_bits), name=f"wdq_{n}_{i}")
                with m.Switch(self.mode):
                    with m.Case(MODE_CODES["symmetric"]):
                        m.d.comb += d.eq((q << 1) - full)
                    with m.Case(MODE_CODES["signed"]):
                        m.d.comb += d.eq(q - half)
                    with m.Default():
                        m.d.comb += d.eq(q)
                w[n][i] = d

        out_reg = [[Signal(signed(acc_bits), name=f"out_{r}_{n}") for n in range(tn)] for r in range(tm)]
        acc = [[Signal(signed(acc_bits), name=f"acc_{r}_{n}") for n in range(tn)] for r in range(tm)]
        m.d.comb += self.out.payload.eq(Cat(*[out_reg[r][n] for r in range(tm) for n in range(tn)]))

        go, finishing = mac_handshakes(m, self)
        for r in range(tm):
            for n in range(tn):
                dot = 0
                for i in range(tk):
                    dot = dot + acts[r][i] * w[n][i]
                total = Signal(signed(acc_bits), name=f"sum_{r}_{n}")
                m.d.comb += total.eq(acc[r][n] + dot)
                with m.If(finishing):
                    m.d.sync += [acc[r][n].eq(0), out_reg[r][n].eq(total)]
                with m.Elif(go):
                    m.d.sync += acc[r][n].eq(total)
        with m.If(finishing):
            m.d.sync += self.out.valid.eq(1)
        with m.Elif(self.out.ready):
            m.d.sync += self.out.valid.eq(0)
        return m


__all__ = ["MAC_CODE_BITS", "MODE_CODES", "LutTile", "MacTile", "check_config"]
