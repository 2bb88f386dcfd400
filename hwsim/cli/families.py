"""Per-family CLI modules.

Each module listed here provides ``add_run_parser(subparsers)`` (for ``hwsim run``) and
``add_export_parser(subparsers)`` (for ``hwsim rtl export``), and may provide
``add_synth_parser(subparsers)`` (for ``hwsim rtl synth``).
"""

FAMILY_CLI_MODULES = (
    "hwsim.families.systolic.cli",
    "hwsim.families.lut.cli",
)
