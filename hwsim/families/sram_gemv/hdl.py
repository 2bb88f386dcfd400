"""Amaranth RTL of one SRAM LUT-GEMV unit: table array, table build, lookup-accumulate,
pattern-reuse issue logic.

:class:`LutGemvCore` is the logic added beside the array (what synthesis prices against
the SRAM); :class:`LutGemvUnit` is the core wired to the table array, an
``amaranth.lib.memory.Memory`` of ``2**N`` rows of ``lanes x entry_bits`` bits (the rows
of the C-SRAM array one table occupies; one synchronous read port, one write port).

Build-time parameters come from the config: ``lanes``, ``group_size`` (N), ``w_bits``,
``entry_bits``, ``vectors`` (accumulators per lane), ``a_bits`` (widest activation) and
``acc_bits``. Run-time inputs, held steady during a job, let one build serve many tests:
``n_items`` (vectors in this pass, 1..vectors), ``planes`` (activation bits, 1..a_bits),
``act_signed`` (top plane subtracts) and ``reuse`` (pattern-aware issue on/off).

Ports

* command stream ``cmd`` (``amaranth.lib.stream``: ``valid`` / ``ready`` / ``payload``), the
  payload a :func:`cmd_layout`: ``drain`` selects DRAIN, else GROUP with ``w`` (lane ``l``
  weight ``i`` at bits ``(l*N + i)*w_bits``, signed) and ``a`` (vector ``b`` activation ``i``
  at bits ``(b*N + i)*a_bits``, two's complement);
* output stream ``out`` (lane ``l``'s accumulator at payload bits ``l*acc_bits``), one vector
  per beat during DRAIN.

The streams are ``amaranth.lib.stream`` signatures, so the exported top
(:mod:`hwsim.eda.export`) has ``cmd__valid`` / ``cmd__ready`` / ``cmd__payload`` and ``out__*``;
no port or submodule is named after a Verilog keyword (hence ``act_signed`` and ``table_mem``),
so the Verilog has no escaped identifiers.

Timing (what :mod:`.model` counts): a GROUP is accepted in one cycle, then the table is
written in ``2**N - 1`` cycles (Gray-code order, each entry one add or subtract from the
previous), then each bit plane takes its lookup cycles: one row read per cycle, the
entry shifted by the plane and added to (subtracted from, on the top plane of signed
activations) the accumulators of the vectors in the issue mask one cycle later. Without
reuse the mask is one vector per cycle (all ``n_items``); with reuse the lead vector's
pattern is looked up for every remaining vector with the same pattern and vectors with
an all-zero pattern are dropped at the plane's start (an all-zero plane still takes one
cycle). The unit accepts the next command in the cycle after the last lookup. DRAIN is
accepted in one cycle and then gives one vector per ``out`` beat, clearing its
accumulators.
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hwsim.families.sram_gemv.config import SramGemvConfig

TOP = "sram_gemv_unit"
CORE_TOP = "sram_gemv_core"


def _w(n: int) -> int:
    return max(1, (n - 1).bit_length())


def cmd_layout(cfg: SramGemvConfig) -> data.StructLayout:
    """The command payload: ``drain`` at bit 0, then ``w`` (``lanes*N`` weights of ``w_bits``),
    then ``a`` (``vectors*N`` activations of ``a_bits``)."""
    return data.StructLayout({"drain": 1, "w": cfg.lanes * cfg.group_size * cfg.w_bits,
                              "a": cfg.vectors * cfg.group_size * cfg.a_bits})


def pack_cmd(cfg: SramGemvConfig, drain: int, w: int, a: int) -> int:
    """The command payload of :func:`cmd_layout` as an integer."""
    ww = cfg.lanes * cfg.group_size * cfg.w_bits
    return (int(drain) & 1) | (int(w) << 1) | (int(a) << (1 + ww))


def core_members(cfg: SramGemvConfig) -> dict:
    """The signature members of :class:`LutGemvCore` (the unit's are those without ``mem_``)."""
    L, N, B, AB, rw = cfg.lanes, cfg.group_size, cfg.vectors, cfg.a_bits, cfg.lanes * cfg.entry_bits
    return {
        "n_items": In(_w(B + 1)), "planes": In(_w(AB + 1)), "act_signed": In(1), "reuse": In(1),
        "cmd": In(stream.Signature(cmd_layout(cfg))),
        "out": Out(stream.Signature(L * cfg.acc_bits)),
        "mem_waddr": Out(N), "mem_wdata": Out(rw), "mem_wen": Out(1),
        "mem_raddr": Out(N), "mem_rdata": In(rw),
    }


class LutGemvCore(wiring.Component):
    """The periphery of one array (see the module docstring); the table array is reached
    through ``mem_*`` ports."""

    def __init__(self, cfg: SramGemvConfig):
        self.cfg = cfg
        self.L, self.N, self.WB = cfg.lanes, cfg.group_size, cfg.w_bits
        self.EB, self.B, self.AB, self.AW = cfg.entry_bits, cfg.vectors, cfg.a_bits, cfg.acc_bits
        self.rw = self.L * self.EB
        super().__init__(core_members(cfg))

    def elaborate(self, platform):
        m = Module()
        L, N, WB, EB, B, AB, AW = self.L, self.N, self.WB, self.EB, self.B, self.AB, self.AW
        w_r = Signal(L * N * WB)
        a_r = Signal(B * N * AB)
        t = Signal(N + 1)
        cur = [Signal(signed(EB), name=f"cur{l}") for l in range(L)]
        plane = Signal(_w(AB))
        start = Signal()
        rem = Signal(B)
        item = Signal(_w(B))
        # lookup pipeline stage -> accumulate
        v_d, neg_d = Signal(), Signal()
        mask_d = Signal(B)
        plane_d = Signal(_w(AB))
        acc = [[Signal(signed(AW), name=f"acc_b{b}_l{l}") for l in range(L)] for b in range(B)]

        # ---- table build: entry gray(t) = entry gray(t-1) +/- weight of the changed bit
        low = Signal(_w(N))                   # lowest set bit of t: the bit gray(t) flips
        for i in reversed(range(N)):
            with m.If(t[i]):
                m.d.comb += low.eq(i)
        g = Signal(N)
        m.d.comb += g.eq(t ^ (t >> 1))
        up = Signal()
        m.d.comb += up.eq((g >> low)[0])
        nxt = []
        for l in range(L):
            wsel = Array([w_r.word_select(l * N + i, WB).as_signed() for i in range(N)])[low]
            s = Signal(signed(EB), name=f"build{l}")
            m.d.comb += s.eq(Mux(up, cur[l] + wsel, cur[l] - wsel))
            nxt.append(s)
        m.d.comb += [self.mem_waddr.eq(g), self.mem_wdata.eq(Cat(*nxt))]

        # ---- lookup issue: patterns of the current plane, lead vector, mask
        pats = []
        for b in range(B):
            p = Signal(N, name=f"pat{b}")
            m.d.comb += p.eq(Cat(*[(a_r.word_select(b * N + i, AB) >> plane)[0] for i in range(N)]))
            pats.append(p)
        live = Signal(B)
        m.d.comb += live.eq(Cat(*[(Const(b) < self.n_items) & (self.reuse.bool() == 0) | (Const(b) < self.n_items)
                                  & (pats[b] != 0) for b in range(B)]))
        rem_eff = Signal(B)
        m.d.comb += rem_eff.eq(Mux(start, live, rem))
        lead = Signal(_w(B))
        for b in reversed(range(B)):
            with m.If(rem_eff[b]):
                m.d.comb += lead.eq(b)
        pat = Signal(N)
        m.d.comb += pat.eq(Array(pats)[lead])
        mask = Signal(B)
        m.d.comb += mask.eq(Cat(*[rem_eff[b] & Mux(self.reuse, pats[b] == pat, lead == b) for b in range(B)]))
        m.d.comb += self.mem_raddr.eq(pat)
        last_plane = Signal()
        m.d.comb += last_plane.eq(plane == self.planes - 1)

        # ---- accumulate (one cycle after the lookup)
        for b in range(B):
            for l in range(L):
                e = self.mem_rdata.word_select(l, EB).as_signed()
                term = Signal(signed(AW), name=f"term_b{b}_l{l}")
                m.d.comb += term.eq(e << plane_d)
                with m.If(self.out.valid & self.out.ready & (item == b)):
                    m.d.sync += acc[b][l].eq(0)
                with m.Elif(v_d & mask_d[b]):
                    m.d.sync += acc[b][l].eq(Mux(neg_d, acc[b][l] - term, acc[b][l] + term))
        m.d.comb += self.out.payload.eq(Array([Cat(*acc[b]) for b in range(B)])[item])
        m.d.sync += v_d.eq(0)

        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += self.cmd.ready.eq(1)
                with m.If(self.cmd.valid):
                    with m.If(self.cmd.payload.drain):
                        m.d.sync += item.eq(0)
                        m.next = "DRAIN"
                    with m.Else():
                        m.d.sync += [w_r.eq(self.cmd.payload.w), a_r.eq(self.cmd.payload.a), t.eq(1)]
                        m.d.sync += [c.eq(0) for c in cur]
                        m.next = "BUILD"
            with m.State("BUILD"):
                m.d.comb += self.mem_wen.eq(1)
                m.d.sync += [c.eq(s) for c, s in zip(cur, nxt)]
                m.d.sync += t.eq(t + 1)
                with m.If(t == (1 << N) - 1):
                    m.d.sync += [plane.eq(0), start.eq(1)]
                    m.next = "LOOKUP"
            with m.State("LOOKUP"):
                left = Signal(B)
                m.d.comb += left.eq(rem_eff & ~mask)
                m.d.sync += [v_d.eq(1), mask_d.eq(mask), plane_d.eq(plane),
                             neg_d.eq(self.act_signed & last_plane), rem.eq(left), start.eq(0)]
                with m.If(left == 0):
                    m.d.sync += [plane.eq(plane + 1), start.eq(1)]
                    with m.If(last_plane):
                        m.next = "IDLE"
            with m.State("DRAIN"):
                m.d.comb += self.out.valid.eq(1)
                with m.If(self.out.ready):
                    m.d.sync += item.eq(item + 1)
                    with m.If(item == self.n_items - 1):
                        m.next = "IDLE"
        return m


class LutGemvUnit(wiring.Component):
    """:class:`LutGemvCore` with its table array (``amaranth.lib.memory.Memory``)."""

    def __init__(self, cfg: SramGemvConfig):
        self.cfg = cfg
        super().__init__({k: v for k, v in core_members(cfg).items() if not k.startswith("mem_")})

    def elaborate(self, platform):
        m = Module()
        # the core is made here, so that a unit built only for its ports leaves no unused one
        m.submodules.core = core = LutGemvCore(self.cfg)
        m.submodules.table_mem = mem = Memory(shape=unsigned(core.rw), depth=1 << core.N, init=[])
        wp, rp = mem.write_port(), mem.read_port()
        m.d.comb += [wp.addr.eq(core.mem_waddr), wp.data.eq(core.mem_wdata), wp.en.eq(core.mem_wen),
                     rp.addr.eq(core.mem_raddr), core.mem_rdata.eq(rp.data)]
        for name, member in self.signature.members.items():
            port, inner = getattr(self, name), getattr(core, name)
            if member.is_signature:
                wiring.connect(m, wiring.flipped(port), inner)
            elif member.flow == wiring.In:
                m.d.comb += inner.eq(port)
            else:
                m.d.comb += port.eq(inner)
        return m
