"""Small Amaranth designs that exercise the cost flows independently of any family.

:class:`MacUnit` is an output-stationary multiply-accumulate PE (operands registered and
forwarded right/down, a wrapping accumulator); :class:`MacGrid` is an ``n x n`` grid of
them with a read-out multiplexer, so its I/O stays small whatever ``n`` is (it fits an
FPGA package). They are the reference designs of ``tests/test_synth.py`` and of the
activity calibration when no family generator is at hand.

Examples
--------
>>> from amaranth.back import verilog
>>> text = verilog.convert(MacGrid(2, a_bits=4, b_bits=4, acc_bits=12), name="grid")
>>> "module grid" in text
True
"""

from __future__ import annotations

from amaranth.hdl import Elaboratable, Module, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hwsim.errors import ConfigError, check_int


def _check_widths(a_bits, b_bits, acc_bits):
    check_int("a_bits", a_bits, 2, 32)
    check_int("b_bits", b_bits, 2, 32)
    check_int("acc_bits", acc_bits, 2, 64)
    if acc_bits < a_bits + b_bits:
        raise ConfigError("acc_bits", f"must be >= a_bits + b_bits = {a_bits + b_bits}, not {acc_bits}")


class MacUnit(wiring.Component):
    """One output-stationary MAC PE.

    Each cycle with ``en`` high: ``acc <= (clear ? 0 : acc) + a_in * b_in`` (two's
    complement, wrapping at ``acc_bits``); ``a_out``/``b_out`` are ``a_in``/``b_in``
    registered, for the right and lower neighbours.
    """

    def __init__(self, a_bits: int = 8, b_bits: int = 8, acc_bits: int = 32):
        _check_widths(a_bits, b_bits, acc_bits)
        self.a_bits, self.b_bits, self.acc_bits = a_bits, b_bits, acc_bits
        super().__init__({
            "a_in": In(signed(a_bits)),
            "b_in": In(signed(b_bits)),
            "en": In(1),
            "clear": In(1),
            "a_out": Out(signed(a_bits)),
            "b_out": Out(signed(b_bits)),
            "en_out": Out(1),
            "clear_out": Out(1),
            "acc": Out(signed(acc_bits)),
        })

    def elaborate(self, platform):
        m = Module()
        m.d.sync += [
            self.a_out.eq(self.a_in),
            self.b_out.eq(self.b_in),
            self.en_out.eq(self.en),
            self.clear_out.eq(self.clear),
        ]
        prod = Signal(signed(self.a_bits + self.b_bits))
        m.d.comb += prod.eq(self.a_in * self.b_in)
        with m.If(self.en):
            with m.If(self.clear):
                m.d.sync += self.acc.eq(prod)
            with m.Else():
                m.d.sync += self.acc.eq(self.acc + prod)
        return m


class MacGrid(wiring.Component):
    """An ``n x n`` output-stationary grid of :class:`MacUnit` with a read-out mux.

    Row ``i`` takes ``a[i]`` from the left, column ``j`` takes ``b[j]`` from the top;
    ``en``/``clear`` enter at the top-left PE and travel with the operands. ``result`` is
    the accumulator of PE ``sel`` (row-major), registered.
    """

    def __init__(self, n: int = 2, a_bits: int = 8, b_bits: int = 8, acc_bits: int = 32):
        check_int("n", n, 1, 64)
        _check_widths(a_bits, b_bits, acc_bits)
        self.n, self.a_bits, self.b_bits, self.acc_bits = n, a_bits, b_bits, acc_bits
        sel_bits = max(1, (n * n - 1).bit_length())
        super().__init__({
            "a": In(unsigned(a_bits * n)),
            "b": In(unsigned(b_bits * n)),
            "en": In(1),
            "clear": In(1),
            "sel": In(sel_bits),
            "result": Out(signed(acc_bits)),
        })

    def elaborate(self, platform):
        m = Module()
        n = self.n
        pes = [[MacUnit(self.a_bits, self.b_bits, self.acc_bits) for _ in range(n)] for _ in range(n)]
        for i in range(n):
            for j in range(n):
                pe = pes[i][j]
                m.submodules[f"pe_{i}_{j}"] = pe
                if j == 0:
                    m.d.comb += pe.a_in.eq(self.a.word_select(i, self.a_bits))
                else:
                    m.d.comb += pe.a_in.eq(pes[i][j - 1].a_out)
                if i == 0:
                    m.d.comb += pe.b_in.eq(self.b.word_select(j, self.b_bits))
                else:
                    m.d.comb += pe.b_in.eq(pes[i - 1][j].b_out)
                # control travels along the anti-diagonal wavefront with the operands
                if i == 0 and j == 0:
                    m.d.comb += [pe.en.eq(self.en), pe.clear.eq(self.clear)]
                elif j > 0:
                    m.d.comb += [pe.en.eq(pes[i][j - 1].en_out), pe.clear.eq(pes[i][j - 1].clear_out)]
                else:
                    m.d.comb += [pe.en.eq(pes[i - 1][j].en_out), pe.clear.eq(pes[i - 1][j].clear_out)]
        with m.Switch(self.sel):
            for idx in range(n * n):
                with m.Case(idx):
                    m.d.sync += self.result.eq(pes[idx // n][idx % n].acc)
        return m


def verilog_of(design: Elaboratable, name: str) -> str:
    """Verilog text of an Amaranth component with top module ``name``."""
    from amaranth.back import verilog

    return verilog.convert(design, name=name, emit_src=False)
