"""Report sections of the SRAM LUT-GEMV family (registered as ``Family.studies``)."""

from __future__ import annotations

STUDIES: dict = {}
