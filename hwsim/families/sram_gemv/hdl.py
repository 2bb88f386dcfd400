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
``signed`` (top plane subtracts) and ``reuse`` (pattern-aware issue on/off).

Ports

* command stream ``cmd_valid`` / ``cmd_ready``; ``cmd_drain`` selects DRAIN, else GROUP
  with ``cmd_w`` (lane ``l`` weight ``i`` at bits ``(l*N + i)*w_bits``, signed) and
  ``cmd_a`` (vector ``b`` activation ``i`` at bits ``(b*N + i)*a_bits``, two's complement);
* output stream ``out_valid`` / ``out_ready`` / ``out_data`` (lane ``l``'s accumulator at bits
  ``l*acc_bits``), one vector per beat during DRAIN.

Timing (what :mod:`.model` counts): a GROUP is accepted in one cycle, then the table is
written in ``2**N - 1`` cycles (Gray-code order, each entry one add or subtract from the
previous), then each bit plane takes its lookup cycles: one row read per cycle, the
entry shifted by the plane and added to (subtracted from, on the top plane of signed
activations) the accumulators of the vectors in the issue mask one cycle later. Without
reuse the mask is one vector per cycle (all ``n_items``); with reuse the lead vector's
pattern is looked up for every remaining vector with the same pattern and vectors with
an all-zero pattern are dropped at the plane's start (an all-zero plane still takes one
cycle). The unit accepts the next command in the cycle after the last lookup. DRAIN is
accepted in one cycle and then gives one vector per ``out_ready`` beat, clearing its
accumulators.
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hwsim.families.sram_gemv.config import SramGemvConfig

TOP = "sram_gemv_unit"
CORE_TOP = "sram_gemv_core"


def _w(n: int) -> int:
    return max(1, (n - 1).bit_length())


class LutGemvCore(wiring.Component):
    """The periphery of one array (see the module docstring); the table array is reached
    through ``mem_*`` ports."""

    def __init__(self, cfg: SramGemvConfig):
        self.cfg = cfg
        self.L, self.N, self.WB = cfg.lanes, cfg.group_size, cfg.w_bits
        self.EB, self.B, self.AB, self.AW = cfg.entry_bits, cfg.vectors, cfg.a_bits, cfg.acc_bits
        self.rw = self.L * self.EB
        super().__init__({
            "n_items": In(_w(self.B + 1)), "planes": In(_w(self.AB + 1)), "signed": In(1), "reuse": In(1),
            "cmd_valid": In(1), "cmd_ready": Out(1), "cmd_drain": In(1),
            "cmd_w": In(self.L * self.N * self.WB), "cmd_a": In(self.B * self.N * self.AB),
            "out_valid": Out(1), "out_ready": In(1), "out_data": Out(self.L * self.AW),
            "mem_waddr": Out(self.N), "mem_wdata": Out(self.rw), "mem_wen": Out(1),
            "mem_raddr": Out(self.N), "mem_rdata": In(self.rw),
        })

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
                with m.If(self.out_valid & self.out_ready & (item == b)):
                    m.d.sync += acc[b][l].eq(0)
                with m.Elif(v_d & mask_d[b]):
                    m.d.sync += acc[b][l].eq(Mux(neg_d, acc[b][l] - term, acc[b][l] + term))
        m.d.comb += self.out_data.eq(Array([Cat(*acc[b]) for b in range(B)])[item])
        m.d.sync += v_d.eq(0)

        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += self.cmd_ready.eq(1)
                with m.If(self.cmd_valid):
                    with m.If(self.cmd_drain):
                        m.d.sync += item.eq(0)
                        m.next = "DRAIN"
                    with m.Else():
                        m.d.sync += [w_r.eq(self.cmd_w), a_r.eq(self.cmd_a), t.eq(1)]
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
                             neg_d.eq(self.signed & last_plane), rem.eq(left), start.eq(0)]
                with m.If(left == 0):
                    m.d.sync += [plane.eq(plane + 1), start.eq(1)]
                    with m.If(last_plane):
                        m.next = "IDLE"
            with m.State("DRAIN"):
                m.d.comb += self.out_valid.eq(1)
                with m.If(self.out_ready):
                    m.d.sync += item.eq(item + 1)
                    with m.If(item == self.n_items - 1):
                        m.next = "IDLE"
        return m


class LutGemvUnit(wiring.Component):
    """:class:`LutGemvCore` with its table array (``amaranth.lib.memory.Memory``)."""

    def __init__(self, cfg: SramGemvConfig):
        self.cfg = cfg
        self.core = LutGemvCore(cfg)
        sig = {k: v for k, v in self.core.signature.members.items() if not k.startswith("mem_")}
        super().__init__(sig)

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = core = self.core
        m.submodules.table = mem = Memory(shape=unsigned(core.rw), depth=1 << core.N, init=[])
        wp, rp = mem.write_port(), mem.read_port()
        m.d.comb += [wp.addr.eq(core.mem_waddr), wp.data.eq(core.mem_wdata), wp.en.eq(core.mem_wen),
                     rp.addr.eq(core.mem_raddr), core.mem_rdata.eq(rp.data)]
        for name in self.signature.members:
            port, inner = getattr(self, name), getattr(core, name)
            if self.signature.members[name].flow == wiring.In:
                m.d.comb += inner.eq(port)
            else:
                m.d.comb += port.eq(inner)
        return m
