"""Amaranth generator of a systolic array that runs whole tiled GEMMs.

:class:`SystolicArray` holds a ``rows x cols`` grid of :class:`SystolicPE`, triangular
skew registers on the west and north edges, de-skew registers on the south edge and a
sequencer that walks the folds of a GEMM whose sizes arrive at run time on the ``cmd``
stream. The schedule, the stream formats and the exact cycle count are documented in
:mod:`hwsim.families.systolic.timing`; :mod:`hwsim.families.systolic.cyclesim` models the same
registers in Python.

Ports (``valid``/``ready`` streams, :mod:`amaranth.lib.stream`):

``cmd`` (in)
    ``{m, k, n}``, each ``dim_bits`` wide, all >= 1. Accepted only while idle (the previous
    GEMM's last result has left).
``operands`` (in)
    ``{west: rows lanes, north: cols lanes}`` per beat, in the order of
    :func:`hwsim.families.systolic.timing.operand_beats`. Lane widths: ``os``/``ws`` west =
    ``a_bits``, north = ``b_bits``; ``is`` west = ``b_bits``, north = ``a_bits``.
``results`` (out)
    ``cols`` lanes of ``acc_bits`` per beat (rows of C, or of C^T for ``is``).
``stall`` (out)
    High in a cycle where a GEMM is in progress but the array is frozen because a needed
    operand beat is not valid or an offered result beat is not ready.

Back-pressure is a single clock enable: the whole datapath and sequencer advance only in
cycles where every stream that the schedule uses in that cycle can transfer (a needed
operand beat is valid; an offered result beat is taken or was taken already).
``operands.ready`` depends on ``results.ready``; ``results.valid`` depends only on state
and, once raised, stays high until its beat is taken (a beat taken while the array is
frozen by a missing operand is remembered and not offered twice). No stream's ``valid``
depends on its own ``ready``, so there are no combinational loops with a feeder that
follows the stream rules.

Dataflows
---------
``os``: PEs pass A right and B down and accumulate one C element each; a ``last`` flag
travelling with A moves the finished sum to the PE's output register and restarts the
accumulator, so folds run back to back. Each column reads its output registers through
a row multiplexer (one row per cycle, a diagonal wave across columns) while the next
fold computes.

``ws``/``is``: a stationary tile lives in ``active`` weight registers; the next tile is
shifted down a tagged preload path (each value carries the number of rows it still has
to travel) into ``shadow`` registers while the current fold computes; a ``first`` flag
travelling with the streamed operand swaps ``shadow`` into ``active`` at each PE just as
the new fold's data reaches it. Partial sums flow down; at the bottom they are
de-skewed and added into an ``acc_depth x cols`` accumulator memory over the K folds;
the last K fold streams the finished rows out.
"""

from __future__ import annotations

from amaranth import Array, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hwsim.eda.verilog import Shared
from hwsim.families.systolic.config import SystolicConfig
from hwsim.errors import check_int

__all__ = ["SystolicArray", "SystolicPE", "fp16_mac", "fp16_sum", "port_shapes"]


def _shape(bits: int, is_signed: bool):
    return signed(bits) if is_signed else unsigned(bits)


def port_shapes(cfg: SystolicConfig) -> dict:
    """Element shapes of the array's edges: ``west``, ``north`` and ``acc`` (binary16
    bit patterns are unsigned whatever ``cfg.signed`` says)."""
    west_bits, north_bits = (cfg.b_bits, cfg.a_bits) if cfg.dataflow == "is" else (cfg.a_bits, cfg.b_bits)
    sg = cfg.signed and not cfg.is_fp16
    return {
        "west": _shape(west_bits, sg),
        "north": _shape(north_bits, sg),
        "acc": _shape(cfg.acc_bits, sg),
    }


def fp16_mac(m: Module, acc, a, b, name: str = "") -> Signal:
    """``fp16_add(acc, fp16_mul(a, b))`` (binary16 patterns, combinational): the binary16
    PE's step, as :func:`hwsim.families.systolic.golden.fp16_gemm` states it."""
    from hwsim.blocks.fp16 import Fp16Adder, Fp16Multiplier

    mul, add = Fp16Multiplier(), Fp16Adder()
    m.submodules[f"{name}mul"] = mul
    m.submodules[f"{name}add"] = add
    out = Signal(16, name=f"{name}mac")
    m.d.comb += [mul.a.eq(a), mul.b.eq(b), add.a.eq(acc), add.b.eq(mul.o), out.eq(add.o)]
    return out


def fp16_sum(m: Module, a, b, name: str) -> Signal:
    """``fp16_add(a, b)`` (combinational)."""
    from hwsim.blocks.fp16 import Fp16Adder

    add = Fp16Adder()
    m.submodules[name] = add
    out = Signal(16, name=f"{name}_o")
    m.d.comb += [add.a.eq(a), add.b.eq(b), out.eq(add.o)]
    return out


def _hop_bits(cfg: SystolicConfig) -> int:
    return max(1, (cfg.rows - 1).bit_length())


def os_pe_step(m: Module, pe, acc: Signal, total) -> None:
    """The clocked step every output-stationary PE shares, whatever it computes: forward
    the operands and the ``last`` flag when enabled, and either emit ``total`` (the last
    term of an output: result out, accumulator cleared) or keep it in ``acc``."""
    with m.If(pe.en):
        m.d.sync += [
            pe.a_out.eq(pe.a_in),
            pe.b_out.eq(pe.b_in),
            pe.last_out.eq(pe.last_in),
        ]
        with m.If(pe.last_in):
            m.d.sync += [pe.result.eq(total), acc.eq(0)]
        with m.Else():
            m.d.sync += acc.eq(total)


class SystolicPE(wiring.Component):
    """One processing element of :class:`SystolicArray` (synthesisable on its own).

    ``os`` ports: ``a_in/a_out`` (west operand with its ``last`` flag, passed east),
    ``b_in/b_out`` (north operand, passed south) and ``result`` (the output register
    holding the last finished sum).

    ``ws``/``is`` ports: ``x_in/x_out`` with ``first`` (streamed operand, passed east),
    ``w_in/w_out`` with ``w_hops`` and ``w_valid`` (the weight preload path, passed
    south), ``psum_in/psum_out`` (partial sums, passed south).

    All registers advance only when ``en`` is high.

    This is the default PE of :class:`SystolicArray`; another PE plugs in through the
    array's ``pe`` argument if it has the same ports for the dataflow (plus any
    :meth:`static_ports`, which the array exposes as its own inputs and wires to every PE).
    """

    @staticmethod
    def static_ports(cfg: SystolicConfig) -> dict:
        """Run-time inputs shared by every PE (``{name: shape}``); a MAC PE has none."""
        return {}

    def __init__(self, cfg: SystolicConfig):
        if not isinstance(cfg, SystolicConfig):
            raise TypeError(f"cfg must be a SystolicConfig, not {type(cfg).__name__}")
        self.cfg = cfg
        self._os = cfg.dataflow == "os"
        sh = port_shapes(cfg)
        if self._os:
            sig = {
                "en": In(1),
                "a_in": In(sh["west"]), "last_in": In(1), "b_in": In(sh["north"]),
                "a_out": Out(sh["west"]), "last_out": Out(1), "b_out": Out(sh["north"]),
                "result": Out(sh["acc"]),
            }
        else:
            hb = _hop_bits(cfg)
            sig = {
                "en": In(1),
                "x_in": In(sh["west"]), "first_in": In(1),
                "x_out": Out(sh["west"]), "first_out": Out(1),
                "w_in": In(sh["north"]), "w_hops_in": In(hb), "w_valid_in": In(1),
                "w_out": Out(sh["north"]), "w_hops_out": Out(hb), "w_valid_out": Out(1),
                "psum_in": In(sh["acc"]), "psum_out": Out(sh["acc"]),
            }
        super().__init__(sig)
        #: Ports a PE takes from its west / north neighbour's ``<port>_out``.
        self.west_links = ("a", "last") if self._os else ("x", "first")
        self.north_links = ("b",) if self._os else ("w", "w_hops", "w_valid", "psum")

    def elaborate(self, platform):
        m = Module()
        fp16 = self.cfg.is_fp16
        if self._os:
            acc = Signal.like(self.result, name="acc")
            if fp16:
                total = fp16_mac(m, acc, self.a_in, self.b_in)
            else:
                total = Signal.like(self.result, name="total")
                m.d.comb += total.eq(acc + self.a_in * self.b_in)
            os_pe_step(m, self, acc, total)
        else:
            shadow = Signal.like(self.w_in, name="shadow")
            active = Signal.like(self.w_in, name="active")
            weight = Signal.like(self.w_in, name="weight")
            m.d.comb += weight.eq(Mux(self.first_in, shadow, active))
            psum = fp16_mac(m, self.psum_in, self.x_in, weight) if fp16 else self.psum_in + self.x_in * weight
            with m.If(self.en):
                m.d.sync += [
                    self.x_out.eq(self.x_in),
                    self.first_out.eq(self.first_in),
                    self.psum_out.eq(psum),
                    active.eq(weight),
                    self.w_out.eq(self.w_in),
                    self.w_hops_out.eq(self.w_hops_in - 1),
                    self.w_valid_out.eq(self.w_valid_in & (self.w_hops_in != 0)),
                ]
                with m.If(self.w_valid_in & (self.w_hops_in == 0)):
                    m.d.sync += shadow.eq(self.w_in)
        return m


class SystolicArray(wiring.Component):
    """A ``rows x cols`` systolic array with a GEMM sequencer (see the module docstring).

    Parameters
    ----------
    cfg : SystolicConfig
        Grid size, dataflow, operand and accumulator widths, ``acc_depth``.
    dim_bits : int
        Width of the run-time ``m``, ``k``, ``n`` fields of ``cmd`` (2..32, default 16).
    pe : type, optional
        The processing element: a class built as ``pe(cfg)``, with the ports of
        :class:`SystolicPE` for ``cfg.dataflow`` and a ``static_ports(cfg)`` static method
        (default :class:`SystolicPE`, the multiply-accumulate PE). Each of its static ports
        becomes an input of the array of the same name, wired to every PE.

    Examples
    --------
    >>> from amaranth.back import verilog
    >>> top = SystolicArray(SystolicConfig(rows=2, cols=2, dataflow="os"))
    >>> "module" in verilog.convert(top, name="systolic_os_2x2")
    True
    """

    def __init__(self, cfg: SystolicConfig, dim_bits: int = 16, pe: type | None = None):
        if not isinstance(cfg, SystolicConfig):
            raise TypeError(f"cfg must be a SystolicConfig, not {type(cfg).__name__}")
        check_int("dim_bits", dim_bits, 2, 32)
        self.cfg = cfg
        self.dim_bits = dim_bits
        self.pe = SystolicPE if pe is None else pe
        static = dict(self.pe.static_ports(cfg))
        sh = port_shapes(cfg)
        cmd = data.StructLayout({"m": dim_bits, "k": dim_bits, "n": dim_bits})
        ops = data.StructLayout({
            "west": data.ArrayLayout(sh["west"], cfg.rows),
            "north": data.ArrayLayout(sh["north"], cfg.cols),
        })
        res = data.ArrayLayout(sh["acc"], cfg.cols)
        super().__init__({
            "cmd": In(stream.Signature(cmd)),
            "operands": In(stream.Signature(ops)),
            "results": Out(stream.Signature(res)),
            "stall": Out(1),
            **{name: In(shape) for name, shape in static.items()},
        })
        self._static = tuple(static)

    # -- shared pieces ------------------------------------------------------------------

    @staticmethod
    def _chain(m, en, src, length, name):
        """``length`` registers after ``src`` (advancing with ``en``); returns the tail."""
        cur = src
        for s in range(length):
            reg = Signal(src.shape(), name=f"{name}_{s}")
            with m.If(en):
                m.d.sync += reg.eq(cur)
            cur = reg
        return cur

    def _grid(self, m, en, west_edge, north_edge):
        """The ``rows x cols`` PEs (submodules ``pe_<i>_<j>``, all advancing with ``en``;
        written as one Verilog PE module by :func:`hwsim.eda.verilog.convert`).

        ``west_edge(i)`` / ``north_edge(j)`` return ``{port: value}`` for the inputs of the
        first column's / first row's PEs; every other PE takes its ``west_links`` /
        ``north_links`` ports from its neighbour's ``<port>_out``.
        """
        R, C = self.cfg.rows, self.cfg.cols
        pes = [[self.pe(self.cfg) for _ in range(C)] for _ in range(R)]
        for i in range(R):
            for j in range(C):
                pe = pes[i][j]
                m.submodules[f"pe_{i}_{j}"] = Shared(pe, "pe")
                m.d.comb += pe.en.eq(en)
                m.d.comb += [getattr(pe, name).eq(getattr(self, name)) for name in self._static]
                west = west_edge(i) if j == 0 else {p: getattr(pes[i][j - 1], f"{p}_out") for p in pe.west_links}
                north = north_edge(j) if i == 0 else {p: getattr(pes[i - 1][j], f"{p}_out") for p in pe.north_links}
                m.d.comb += [getattr(pe, f"{p}_in").eq(v) for p, v in {**west, **north}.items()]
        return pes

    def _handshake(self, m, need_in, out_has, busy):
        # A result beat taken while the array is frozen (operands starved) is marked
        # ``sent`` so that it is neither offered again nor waited for.
        en = Signal()
        sent = Signal()
        in_ok = ~need_in | self.operands.valid
        out_ok = ~out_has | sent | self.results.ready
        m.d.comb += [
            en.eq(in_ok & out_ok),
            self.operands.ready.eq(need_in & out_ok),
            self.results.valid.eq(out_has & ~sent),
            self.stall.eq(busy & ~en),
        ]
        with m.If(en):
            m.d.sync += sent.eq(0)
        with m.Elif(self.results.valid & self.results.ready):
            m.d.sync += sent.eq(1)
        return en

    def elaborate(self, platform):
        if self.cfg.dataflow == "os":
            return self._elaborate_os()
        return self._elaborate_ws()

    # -- output stationary --------------------------------------------------------------

    def _elaborate_os(self):
        cfg = self.cfg
        R, C = cfg.rows, cfg.cols
        m = Module()
        db = self.dim_bits

        busy = Signal()
        feeding = Signal()
        mm, kk, nn = Signal(db), Signal(db), Signal(db)
        t, m0, n0 = Signal(db), Signal(db + 1), Signal(db + 1)
        need_in = Signal()
        out_has = Signal()
        out_final = Signal()
        en = self._handshake(m, need_in, out_has, busy)

        period = Signal(db)
        m.d.comb += period.eq(Mux(kk > R, kk, R))
        last_fold = Signal()
        m.d.comb += [
            last_fold.eq((n0 + C >= nn) & (m0 + R >= mm)),
            need_in.eq(feeding & (t < kk)),
        ]
        inj_last = Signal()
        inj_final = Signal()
        m.d.comb += [inj_last.eq(need_in & (t == kk - 1)), inj_final.eq(inj_last & last_fold)]

        m.d.comb += self.cmd.ready.eq(~busy)
        with m.If(~busy & self.cmd.valid):
            m.d.sync += [
                busy.eq(1), feeding.eq(1),
                mm.eq(self.cmd.payload.m), kk.eq(self.cmd.payload.k), nn.eq(self.cmd.payload.n),
                t.eq(0), m0.eq(0), n0.eq(0),
            ]
        with m.If(en & feeding):
            with m.If(inj_final):
                m.d.sync += feeding.eq(0)
            with m.Elif(t == period - 1):
                m.d.sync += t.eq(0)
                with m.If(m0 + R >= mm):
                    m.d.sync += [m0.eq(0), n0.eq(n0 + C)]
                with m.Else():
                    m.d.sync += m0.eq(m0 + R)
            with m.Else():
                m.d.sync += t.eq(t + 1)
        with m.If(en & out_has & out_final):
            m.d.sync += busy.eq(0)

        # west/north edges: one input register, then a triangular skew
        sh = port_shapes(cfg)
        west_in = [Signal(sh["west"], name=f"west_inj_{i}") for i in range(R)]
        north_in = [Signal(sh["north"], name=f"north_inj_{j}") for j in range(C)]
        last_lane = Signal()
        m.d.comb += last_lane.eq(inj_last)
        for i in range(R):
            m.d.comb += west_in[i].eq(Mux(need_in, self.operands.payload.west[i], 0))
        for j in range(C):
            m.d.comb += north_in[j].eq(Mux(need_in, self.operands.payload.north[j], 0))

        pes = self._grid(
            m, en,
            lambda i: {"a": self._chain(m, en, west_in[i], i + 1, f"west_skew_{i}"),
                       "last": self._chain(m, en, last_lane, i + 1, f"last_skew_{i}")},
            lambda j: {"b": self._chain(m, en, north_in[j], j + 1, f"north_skew_{j}")})

        # drain: a pulse two registers after the last beat starts a row counter; column j
        # sees the counter j cycles later and reads that row through a multiplexer
        db_rows = max(1, (R - 1).bit_length())
        sel_layout = data.StructLayout({"valid": 1, "row": db_rows, "final": 1})
        p1 = Signal(data.StructLayout({"valid": 1, "final": 1}))
        sel0 = Signal(sel_layout)
        with m.If(en):
            m.d.sync += [p1.valid.eq(inj_last), p1.final.eq(inj_final)]
            with m.If(p1.valid):
                m.d.sync += [sel0.valid.eq(1), sel0.row.eq(0), sel0.final.eq(p1.final)]
            with m.Elif(sel0.valid):
                m.d.sync += [sel0.valid.eq(sel0.row != R - 1), sel0.row.eq(sel0.row + 1)]
        sel = sel0
        for j in range(C):
            if j:
                sel = self._chain(m, en, sel, 1, f"drain_sel_{j}")
            col = Array(pes[i][j].result for i in range(R))
            val = Signal(sh["acc"], name=f"drain_{j}")
            m.d.comb += val.eq(col[sel.row])
            out_j = self._chain(m, en, val, C - 1 - j, f"deskew_{j}")
            m.d.comb += self.results.payload[j].eq(out_j)
        m.d.comb += [out_has.eq(sel.valid), out_final.eq(sel.final & (sel.row == R - 1))]
        return m

    # -- weight / input stationary -----------------------------------------------------

    def _elaborate_ws(self):
        cfg = self.cfg
        R, C, D = cfg.rows, cfg.cols, cfg.acc_depth
        m = Module()
        db = self.dim_bits
        hb = _hop_bits(cfg)
        sh = port_shapes(cfg)
        swap = cfg.dataflow == "is"

        IDLE, PRELOAD, FOLD, DRAIN = 0, 1, 2, 3
        state = Signal(2)
        ss, kk, tt = Signal(db), Signal(db), Signal(db)  # streamed rows, reduction, stationary cols
        t = Signal(db)
        t0, c0, k0 = Signal(db + 1), Signal(db + 1), Signal(db + 1)
        need_in = Signal()
        out_has = Signal()
        out_final = Signal()
        en = self._handshake(m, need_in, out_has, state != IDLE)

        mc = Signal(db + 1)
        rem = Signal(db + 1)
        m.d.comb += [rem.eq(ss - c0), mc.eq(Mux(rem > D, D, rem))]
        last_fold = Signal()
        m.d.comb += last_fold.eq((t0 + C >= tt) & (c0 + D >= ss) & (k0 + R >= kk))
        period_end = Signal(db + 1)
        m.d.comb += period_end.eq(Mux(last_fold | (mc > R), mc, R) - 1)
        m.d.comb += need_in.eq((state == PRELOAD) | (state == FOLD))

        x_valid = Signal()
        w_valid = Signal()
        m.d.comb += [
            x_valid.eq((state == FOLD) & (t < mc)),
            w_valid.eq((state == PRELOAD) | ((state == FOLD) & (t < R) & ~last_fold)),
        ]
        tok_layout = data.StructLayout({
            "valid": 1, "addr": max(1, (D - 1).bit_length()), "kfirst": 1, "klast": 1, "final": 1,
        })
        token = Signal(tok_layout)
        m.d.comb += [
            token.valid.eq(x_valid),
            token.addr.eq(t),
            token.kfirst.eq(k0 == 0),
            token.klast.eq(k0 + R >= kk),
            token.final.eq(last_fold & (t == mc - 1)),
        ]

        m.d.comb += self.cmd.ready.eq(state == IDLE)
        with m.If((state == IDLE) & self.cmd.valid):
            p = self.cmd.payload
            m.d.sync += [
                state.eq(PRELOAD), t.eq(0), t0.eq(0), c0.eq(0), k0.eq(0),
                ss.eq(p.n if swap else p.m), kk.eq(p.k), tt.eq(p.m if swap else p.n),
            ]
        with m.If(en):
            with m.Switch(state):
                with m.Case(PRELOAD):
                    with m.If(t == R - 1):
                        m.d.sync += [state.eq(FOLD), t.eq(0)]
                    with m.Else():
                        m.d.sync += t.eq(t + 1)
                with m.Case(FOLD):
                    with m.If(t == period_end):
                        m.d.sync += t.eq(0)
                        with m.If(last_fold):
                            m.d.sync += state.eq(DRAIN)
                        with m.Elif(k0 + R < kk):
                            m.d.sync += k0.eq(k0 + R)
                        with m.Elif(c0 + D < ss):
                            m.d.sync += [k0.eq(0), c0.eq(c0 + D)]
                        with m.Else():
                            m.d.sync += [k0.eq(0), c0.eq(0), t0.eq(t0 + C)]
                    with m.Else():
                        m.d.sync += t.eq(t + 1)
            with m.If(out_has & out_final):
                m.d.sync += state.eq(IDLE)

        # edges
        first = Signal()
        m.d.comb += first.eq(x_valid & (t == 0))
        west_in = [Signal(sh["west"], name=f"west_inj_{i}") for i in range(R)]
        for i in range(R):
            m.d.comb += west_in[i].eq(Mux(x_valid, self.operands.payload.west[i], 0))
        wl = data.StructLayout({"data": sh["north"], "hops": hb, "valid": 1})
        north_in = [Signal(wl, name=f"north_inj_{j}") for j in range(C)]
        for j in range(C):
            m.d.comb += [
                north_in[j].data.eq(self.operands.payload.north[j]),
                north_in[j].hops.eq(t),
                north_in[j].valid.eq(w_valid),
            ]

        def north_edge(j):
            w = self._chain(m, en, north_in[j], j + 1, f"north_skew_{j}")
            return {"w": w.data, "w_hops": w.hops, "w_valid": w.valid, "psum": 0}

        pes = self._grid(
            m, en,
            lambda i: {"x": self._chain(m, en, west_in[i], i + 1, f"west_skew_{i}"),
                       "first": self._chain(m, en, first, i + 1, f"first_skew_{i}")},
            north_edge)

        # south edge: de-skew, accumulate over K folds, emit on the last one
        tok = self._chain(m, en, token, R + C, "token")
        buf = Memory(shape=data.ArrayLayout(sh["acc"], C), depth=D, init=[])
        m.submodules.acc_buf = buf
        rd = buf.read_port(domain="comb")
        wr = buf.write_port()
        total = Signal(data.ArrayLayout(sh["acc"], C))
        m.d.comb += rd.addr.eq(tok.addr)
        for j in range(C):
            aligned = self._chain(m, en, pes[R - 1][j].psum_out, C - 1 - j, f"deskew_{j}")
            if cfg.is_fp16:  # the first K fold's sum is stored as it is (no +0 added)
                m.d.comb += total[j].eq(Mux(tok.kfirst, aligned, fp16_sum(m, rd.data[j], aligned, f"acc_add_{j}")))
            else:
                m.d.comb += total[j].eq(Mux(tok.kfirst, 0, rd.data[j]) + aligned)
        m.d.comb += [
            wr.addr.eq(tok.addr),
            wr.data.eq(total),
            wr.en.eq(en & tok.valid & ~tok.klast),
            self.results.payload.eq(total),
            out_has.eq(tok.valid & tok.klast),
            out_final.eq(tok.final),
        ]
        return m
