"""Command-line options for pulling from registries, shared by ``inventory`` and ``scan``."""

from __future__ import annotations

import argparse

from hullscan.sources.registry_config import RegistryConfig


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "registries",
        "registry:REF and bare image references. Settings file: --registry-config, else "
        "$HULLSCAN_REGISTRIES, else registries.toml in the user config dir; the options below add to it.",
    )
    g.add_argument("--registry-config", metavar="FILE", help="registry settings file (TOML)")
    g.add_argument(
        "--insecure-registry",
        action="append",
        default=[],
        metavar="HOST",
        help="allow plain HTTP and unverified TLS for this registry (repeatable)",
    )
    g.add_argument(
        "--registry-mirror",
        action="append",
        default=[],
        metavar="REGISTRY=MIRROR",
        help="try MIRROR (host[:port][/path]) before REGISTRY (repeatable)",
    )
    g.add_argument(
        "--registry-rewrite",
        action="append",
        default=[],
        metavar="PREFIX=LOCATION",
        help="pull PREFIX[/...] from LOCATION[/...] instead, with PREFIX's credentials (repeatable)",
    )
    g.add_argument(
        "--registry-ca",
        action="append",
        default=[],
        metavar="REGISTRY=FILE",
        help="trust the CA certificates in FILE (PEM) for REGISTRY (repeatable)",
    )
    g.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show pull progress on stderr (default: when stderr is a terminal)",
    )


def config(args: argparse.Namespace) -> RegistryConfig:
    base = RegistryConfig.load(args.registry_config)
    return base.with_flags(
        insecure=args.insecure_registry,
        mirrors=args.registry_mirror,
        rewrites=args.registry_rewrite,
        ca_files=args.registry_ca,
    )


__all__ = ["add_arguments", "config"]
