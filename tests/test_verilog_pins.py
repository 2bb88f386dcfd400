"""The generated Verilog of a fixed set of designs is pinned by its SHA-256.

Restructuring the code (moving generators between packages, sharing blocks) must not
change the hardware: a changed hash here means the Verilog changed. When a change to the
hardware is intended, regenerate the pin with ``python tests/test_verilog_pins.py`` and
say why in the commit.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

PIN = Path(__file__).parent / "pinned" / "verilog_sha256.json"


def designs() -> dict:
    """name -> callable returning the Verilog text."""
    from hwsim.families.lut.config import LutConfig
    from hwsim.families.lut.rtl import verilog_text as lut_verilog
    from hwsim.families.systolic.config import SystolicConfig
    from hwsim.families.systolic.rtl import verilog_text as systolic_verilog
    from hwsim.families.lut.rescale import rescale_config
    from hwsim.families.lut.rescale_rtl import verilog_text as scaled_verilog

    out = {}
    for df in ("os", "ws", "is"):
        for r, c in ((2, 2), (3, 5)):
            cfg = SystolicConfig(rows=r, cols=c, dataflow=df)
            out[f"systolic_{df}_{r}x{c}"] = (lambda cfg=cfg: systolic_verilog(cfg))
    lcfg = LutConfig(tile_m=2, tile_n=4, tile_k=4)
    for kind in ("lut", "mac"):
        out[f"{kind}_tile_m2n4k4"] = (lambda kind=kind: lut_verilog(lcfg, kind))
    out["scaled_lut_tile_m2n4k4_g8"] = lambda: scaled_verilog(lcfg, rescale_config(lcfg, group_size=8))
    return out


def hashes() -> dict:
    return {name: hashlib.sha256(fn().encode()).hexdigest() for name, fn in sorted(designs().items())}


@pytest.mark.parametrize("name", sorted(json.loads(PIN.read_text())))
def test_verilog_unchanged(name):
    pinned = json.loads(PIN.read_text())[name]
    text = designs()[name]()
    assert hashlib.sha256(text.encode()).hexdigest() == pinned, f"Verilog of {name} changed"


def test_pin_covers_every_design():
    assert sorted(json.loads(PIN.read_text())) == sorted(designs())


if __name__ == "__main__":  # regenerate the pin by hand
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    PIN.write_text(json.dumps(hashes(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {PIN}")
