"""Valid/ready stream drivers and monitors, the same under cocotb and Amaranth's simulator.

Every family's RTL takes its inputs and gives its outputs as valid/ready streams (a beat
transfers in a cycle where ``valid`` and ``ready`` are both high). This module holds the
one bench loop all of them use, written against a small port interface so the same
drivers run the Verilated design under cocotb (:class:`CocotbPorts`) and the Amaranth
design under ``amaranth.sim`` (:class:`AmaranthPorts`):

- :class:`Source` offers a list of words on a stream (optionally only after another
  source, e.g. a command, has sent all of its own); with a :class:`Gaps` policy it
  withholds ``valid`` in some cycles (random with a probability, or a fixed pattern of
  '0'/'1' per cycle). Once offered, a beat stays offered until it is taken (the stream
  rule; a source never drops ``valid``).
- :class:`Sink` takes words from a stream, dropping ``ready`` by its own policy, and
  checks that the DUT never withdraws an offered beat.
- :func:`run` drives sources and sink until the sink has the words it waits for, and
  measures the transfer: ``cycles`` from the cycle of the first accepted beat of the
  first source to the cycle of the last output beat, both included; ``stall_cycles`` in
  that window either from the DUT's own ``stall`` output or, without one, the cycles in
  which the DUT waited for the bench (a source with a beat left withholding it while the
  DUT was ready, or the sink refusing an offered beat).

Convention (the cycle-level models use it too): inputs are driven for cycle ``k`` after
the rising edge that ends cycle ``k - 1``; handshakes are sampled once the combinational
outputs have settled and complete at the next rising edge.

Port names are the Verilog ones (``operands__valid``); :class:`AmaranthPorts` maps
``a__b`` to the attribute path ``a.b`` of the Amaranth component.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


class Gaps:
    """When a bench withholds a beat (``valid`` of a source, ``ready`` of a sink).

    ``Gaps(p, rng)`` withholds with probability ``p`` per decision (``rng`` has a
    ``random()`` method: :class:`random.Random` or a NumPy generator); ``Gaps(pattern=s)``
    follows the string ``s`` of '1' (go) and '0' (withhold), one character per cycle, and
    goes on from the end of the pattern. ``Gaps()`` never withholds.
    """

    def __init__(self, p: float = 0.0, rng=None, pattern: str | None = None):
        if not 0.0 <= float(p) < 1.0:
            raise ValueError(f"gap probability must be in [0, 1): {p}")
        self.p = float(p)
        self.rng = rng if rng is not None else random.Random(0)
        self.pattern = pattern

    def go(self, cycle: int) -> bool:
        if self.pattern is not None:
            return cycle >= len(self.pattern) or self.pattern[cycle] == "1"
        return not self.p or self.rng.random() >= self.p


class CocotbPorts:
    """The port interface on a cocotb DUT handle (Verilog names)."""

    def __init__(self, dut, clk: str = "clk"):
        self.dut = dut
        self.clk = getattr(dut, clk)

    def set(self, name: str, value: int) -> None:
        getattr(self.dut, name).value = int(value)

    def get(self, name: str) -> int:
        return int(getattr(self.dut, name).value)

    def has(self, name: str) -> bool:
        try:
            getattr(self.dut, name)
        except AttributeError:
            return False
        return True

    async def settle(self) -> None:
        from cocotb.triggers import ReadOnly

        await ReadOnly()

    async def tick(self) -> None:
        from cocotb.triggers import RisingEdge

        await RisingEdge(self.clk)

    async def start(self, period_ns: int = 10) -> None:
        import cocotb
        from cocotb.clock import Clock

        cocotb.start_soon(Clock(self.clk, period_ns, unit="ns").start())


class AmaranthPorts:
    """The port interface in an ``amaranth.sim`` testbench (``ctx``) on component ``dut``."""

    def __init__(self, ctx, dut):
        self.ctx, self.dut = ctx, dut

    def _sig(self, name: str):
        obj = self.dut
        for part in name.split("__"):
            obj = getattr(obj, part)
        return obj.as_value() if hasattr(obj, "as_value") else obj

    def set(self, name: str, value: int) -> None:
        self.ctx.set(self._sig(name), int(value))

    def get(self, name: str) -> int:
        return int(self.ctx.get(self._sig(name)))

    def has(self, name: str) -> bool:
        try:
            self._sig(name)
        except AttributeError:
            return False
        return True

    async def start(self) -> None:
        return None  # the simulator's clock is added with Simulator.add_clock

    async def settle(self) -> None:
        return None  # a testbench's ctx.get already sees settled combinational values

    async def tick(self) -> None:
        await self.ctx.tick()


class Source:
    """Offers ``words`` on the stream ``name`` (ports ``name__valid``, ``name__ready``,
    ``name__payload``)."""

    def __init__(self, name: str, words=(), gaps: Gaps | None = None, after: "Source | None" = None):
        self.name = name
        self.gaps = gaps or Gaps()
        self.after = after  # offer nothing until that source has sent all its beats
        self.load(words)

    def load(self, words) -> None:
        self.words = [int(w) for w in words]
        self.pos = 0
        self.offer = False

    @property
    def left(self) -> int:
        return len(self.words) - self.pos

    def drive(self, ports, cycle: int) -> None:
        if not self.offer and self.pos < len(self.words) and (self.after is None or not self.after.left):
            self.offer = self.gaps.go(cycle)
        if self.offer:
            ports.set(f"{self.name}__payload", self.words[self.pos])
        ports.set(f"{self.name}__valid", int(self.offer))

    def sample(self, ports) -> tuple[bool, bool]:
        """``(taken, withheld)``: a beat transfers at the coming edge; the DUT was ready
        for a beat this source has but did not offer."""
        ready = bool(ports.get(f"{self.name}__ready"))
        blocked = self.after is not None and self.after.left
        return self.offer and ready, ready and not self.offer and self.pos < len(self.words) and not blocked

    def commit(self, taken: bool) -> None:
        if taken:
            self.pos += 1
            self.offer = False


class Sink:
    """Takes beats of the stream ``name``; ``ready`` follows its :class:`Gaps`."""

    def __init__(self, name: str, gaps: Gaps | None = None):
        self.name = name
        self.gaps = gaps or Gaps()
        self.ready = False
        self.offered = False

    def drive(self, ports, cycle: int) -> None:
        self.ready = self.gaps.go(cycle)
        ports.set(f"{self.name}__ready", int(self.ready))

    def sample(self, ports) -> tuple[int | None, bool]:
        """``(word or None, refused)``: the beat taken at the coming edge, and whether an
        offered beat is being refused."""
        valid = bool(ports.get(f"{self.name}__valid"))
        # the stream rule: an offered beat stays offered until it is taken
        assert valid or not self.offered, f"{self.name}.valid fell before its beat was taken"
        self.offered = valid and not self.ready
        if valid and self.ready:
            return ports.get(f"{self.name}__payload"), False
        return None, valid and not self.ready


@dataclass
class Transfer:
    """What :func:`run` measured: the sink's words, the window's cycles and stalls, and
    the bench's cycle counter after the transfer."""

    words: list = field(default_factory=list)
    cycles: int = 0
    stall_cycles: int = 0
    end_cycle: int = 0


def check_backpressure(bp) -> dict:
    """A bench's back-pressure settings ``{"in_gap": p, "out_gap": q}`` (probabilities in
    [0, 1)), checked; ``None`` is no back-pressure."""
    from hwsim.errors import ConfigError

    if bp is None:
        return {}
    if not isinstance(bp, dict):
        raise ConfigError("backpressure", f"must be a mapping with in_gap/out_gap, not {bp!r}")
    out = {}
    for key, v in bp.items():
        if key not in ("in_gap", "out_gap"):
            raise ConfigError(f"backpressure.{key}", "unknown key (expected in_gap, out_gap)")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < 1:
            raise ConfigError(f"backpressure.{key}", f"must be a probability in [0, 1), not {v!r}")
        out[key] = float(v)
    return out


def backpressure_gaps(bp, rng, sources: int = 1) -> tuple:
    """The gap policies of back-pressure settings ``bp`` (``{"in_gap": p, "out_gap": q}``,
    either missing is 0; ``None`` is no back-pressure): ``sources`` input policies
    withholding with probability ``p``, then the output's with ``q``, all drawing from
    ``rng``."""
    bp = bp or {}
    p_in, p_out = float(bp.get("in_gap", 0.0)), float(bp.get("out_gap", 0.0))
    return (*(Gaps(p_in, rng) for _ in range(sources)), Gaps(p_out, rng))


#: How :func:`run` counts stall cycles for a DUT without a ``stall`` output:
#: ``"waits"``, every cycle the bench withheld a beat the DUT was ready for or refused an
#: offered output beat; ``"idle"``, every cycle the bench withheld a beat the DUT was ready
#: for, plus every cycle in which no beat moved on any stream while the bench withheld or
#: refused one (for a DUT that keeps computing while its finished output waits, and whose
#: inputs are only ready together).
STALL_RULES = ("waits", "idle")


async def run(ports, sources, sink: Sink, want: int, *, stall: str | None = None, cycle: int = 0,
              max_cycles: int = 10_000_000, stalls: str = "waits") -> Transfer:
    """Drive ``sources`` (the first one's first accepted beat opens the window) and ``sink``
    until the sink has ``want`` words. ``stall`` names the DUT's stall output, if it has one
    (otherwise stalls are the cycles the DUT waited for the bench, by the rule ``stalls``,
    one of :data:`STALL_RULES`). ``cycle`` is the bench's cycle counter (for pattern gaps
    and the result's ``end_cycle``)."""
    if stalls not in STALL_RULES:
        raise ValueError(f"stalls must be one of {STALL_RULES}, not {stalls!r}")
    words, first, last, stalled = [], None, None, []
    start = cycle
    while len(words) < want:
        for s in sources:
            s.drive(ports, cycle - start)
        sink.drive(ports, cycle - start)
        await ports.settle()
        taken = [s.sample(ports) for s in sources]
        word, refused = sink.sample(ports)
        if stall is not None:
            waited = bool(ports.get(stall))
        elif stalls == "waits":
            waited = refused or any(w for _, w in taken)
        else:
            held = any(s.left and not s.offer and not (s.after is not None and s.after.left) for s in sources)
            moved = word is not None or any(t for t, _ in taken)
            waited = any(w for _, w in taken) or (not moved and (refused or held))
        if waited:
            stalled.append(cycle)
        if taken[0][0] and first is None:
            first = cycle
        if word is not None:
            words.append(word)
            last = cycle
        await ports.tick()
        for s, (t, _) in zip(sources, taken):
            s.commit(t)
        cycle += 1
        if cycle - start > max_cycles:
            raise AssertionError(f"no end after {max_cycles} cycles ({len(words)}/{want} beats): the DUT is stuck")
    left = {s.name: s.left for s in sources if s.left}
    assert not left, f"the DUT finished before taking every beat: {left} left"
    assert first is not None, "the DUT gave its outputs before taking an input beat"
    for s in sources:
        ports.set(f"{s.name}__valid", 0)
    return Transfer(words=words, cycles=last - first + 1,
                    stall_cycles=sum(1 for c in stalled if first <= c <= last), end_cycle=cycle)


def simulate(dut, bench) -> None:
    """Run the async testbench ``bench(ports)`` on the Amaranth component ``dut`` under
    Amaranth's simulator, clocked, with ``ports`` an :class:`AmaranthPorts` (the loop a
    cocotb bench runs under Verilator with :class:`CocotbPorts`)."""
    from amaranth.sim import Simulator

    async def testbench(ctx):
        await bench(AmaranthPorts(ctx, dut))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
