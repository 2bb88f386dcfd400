"""Command-line options generated from a config class's field metadata.

Every field made with :func:`hwsim.families.contract.param` becomes one option: its name
(``cli`` or ``--`` + the field name), type (from the annotation), choices, default and
help (with unit and range) come from the field. Errors of the config name the option the
user typed, never the internal field. No family keeps its own option table.
"""

from __future__ import annotations

import argparse
import dataclasses

from hwsim.errors import ConfigError
from hwsim.families.contract import option_name

_TYPES = {"int": int, "float": float, "str": str, "int | None": int, "float | None": float,
          "str | None": str}


def _help(f: dataclasses.Field) -> str:
    md = f.metadata
    text = md.get("help", "")
    if md.get("cli_flag_inverts") or f.type == "bool":
        return text
    bits = []
    if md.get("range"):
        lo, hi = md["range"]
        bits.append(f"{lo}-{hi}")
    if md.get("unit"):
        bits.append(md["unit"])
    if f.default is not None:
        bits.append(f"default {f.default:g}" if isinstance(f.default, float) else f"default {f.default}")
    return f"{text} ({'; '.join(bits)})" if bits else text


def config_fields(cls, groups=None) -> list[dataclasses.Field]:
    """The fields of ``cls`` that have option metadata, in declaration order; with
    ``groups``, only fields whose group is listed (``None`` stands for the design's own)."""
    out = []
    for f in dataclasses.fields(cls):
        if "help" not in f.metadata:
            continue
        if groups is not None and f.metadata.get("group") not in groups:
            continue
        out.append(f)
    return out


def add_config_options(parser: argparse.ArgumentParser, cls, *, title: str, groups=None,
                       skip: tuple = ()) -> None:
    """Add one option per field of ``cls`` (see module doc) to ``parser``.

    Parameters
    ----------
    title : str
        Title of the group holding the design's own fields; other groups are titled by
        their field metadata (e.g. ``"memory and clock"``).
    groups : iterable or None
        Restrict to these field groups (``None`` in the iterable: the design's own).
    skip : tuple of str
        Field names not to offer (the command sets them itself).
    """
    made: dict[str | None, argparse._ArgumentGroup] = {}
    for f in config_fields(cls, groups):
        if f.name in skip:
            continue
        g = f.metadata.get("group")
        if g not in made:
            made[g] = parser.add_argument_group(title if g is None else g)
        grp = made[g]
        opt = option_name(f)
        md = f.metadata
        if f.type in ("bool", bool) or isinstance(f.default, bool):
            if md.get("cli_flag_inverts"):
                grp.add_argument(opt, dest=f.name, action="store_false", default=f.default, help=_help(f))
            elif f.default:  # on by default: --no-<name> turns it off
                grp.add_argument(opt, dest=f.name, action=argparse.BooleanOptionalAction, default=True,
                                 help=f"{md.get('help', '')} (default on)")
            else:
                grp.add_argument(opt, dest=f.name, action="store_true", default=False, help=_help(f))
            continue
        kw = {"dest": f.name, "default": f.default, "help": _help(f), "type": f.type if isinstance(f.type, type) else _TYPES.get(f.type, str),
              "metavar": opt.lstrip("-").replace("-", "_").upper()}
        if md.get("choices"):
            kw["metavar"] = "{" + ",".join(map(str, md["choices"])) + "}"
        grp.add_argument(opt, **kw)


def option_for(cls, key: str) -> str:
    """The command-line option of config field ``key`` of ``cls`` (``key`` itself when the
    field has none)."""
    for f in dataclasses.fields(cls):
        if f.name == key:
            return option_name(f)
    return key


def config_from_args(cls, args, *, extra: dict | None = None):
    """The config of ``cls`` from the parsed options (fields without an option keep their
    defaults), checked as a sweep checks it (:func:`hwsim.evaluate.check_config`); a
    :class:`ConfigError` names the option instead of the field."""
    from hwsim.evaluate import check_config

    fields = {f.name: f for f in dataclasses.fields(cls)}
    kw = {name: getattr(args, name) for name in fields if hasattr(args, name)}
    kw.update(extra or {})
    try:
        return check_config(cls(**kw))
    except ConfigError as e:
        f = fields.get(e.key)
        if f is not None and (f.name in vars(args) or "help" in f.metadata):
            raise ConfigError(option_name(f), e.reason) from None
        raise
