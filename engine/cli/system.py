"""``ponder devices``, ``token`` and ``network``: this computer, the Hugging Face token, offline mode and the
connections Ponder made."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, replace

from engine.cli.common import Subparsers, gb, read_secret
from engine.system.errors import PonderError


def cmd_devices(args: argparse.Namespace) -> int:
    from engine.system.hardware import probe

    report = probe()
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return 0
    cpu = report.cpu
    print(f"OS:   {report.os}")
    print(f"CPU:  {cpu.name} ({cpu.physical_cores} cores, {cpu.logical_cores} threads; {' '.join(cpu.features)})")
    print(f"RAM:  {gb(report.ram_total_bytes)} total, {gb(report.ram_available_bytes)} available")
    for gpu in report.gpus or []:
        print(f"GPU:  {gpu.name} ({gb(gpu.memory_bytes)}{', driver ' + gpu.driver if gpu.driver else ''})")
    if not report.gpus:
        print("GPU:  none found")
    print(f"ONNX Runtime {report.onnxruntime} providers:")
    for p in report.providers:
        print(f"  {p.key:7} {'works' if p.works else 'no':6} {p.reason}")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from engine.system.secrets import TokenStore, keyring_status

    store = TokenStore()
    if args.action == "clear":
        store.clear()
        print("Hugging Face token removed.")
        return 0
    if args.action == "status":
        status = keyring_status()
        print(f"Keyring: {status.backend}" + (f" — {status.reason}" if status.reason else ""))
        print("Token: " + ("set" if store.get() else "not set"))
        return 0
    token = read_secret("Hugging Face token: ")
    if not token:
        raise PonderError("No token given.", "Paste a token from your Hugging Face settings page.")
    status = store.set(token)
    print("Token saved in the OS keyring." if status.available else status.reason)
    return 0


def cmd_network(args: argparse.Namespace) -> int:
    from datetime import datetime

    from engine.system import network_log, privacy
    from engine.system.progress import format_bytes
    from engine.system.settings import load_settings, save_settings

    if args.offline is not None:
        save_settings(replace(load_settings(), offline=args.offline == "on"))
        privacy.set_offline(args.offline == "on")
    if args.clear:
        network_log.clear_activity()
    reason = privacy.offline_reason()
    records = network_log.read_activity(args.limit)
    if args.json:
        print(json.dumps({"offline": reason is not None, "offline_reason": reason,
                          "activity": [asdict(r) for r in records]}, indent=2, ensure_ascii=False))
        return 0
    print(f"{reason}: Ponder opens no connection beyond this computer." if reason else
          "Online: Ponder connects only for downloads you start and remote engines you added.")
    if not records:
        print("No network activity recorded.")
    for r in records:
        when = datetime.fromtimestamp(r.time).strftime("%Y-%m-%d %H:%M:%S")
        size = f"{format_bytes(r.received)} in, {format_bytes(r.sent)} out"
        print(f"  {when}  {r.kind:14} {r.host:28} {size:24} {r.result}\n      {r.detail} ({r.process})"
              + (f"; reached {', '.join(r.addresses)}" if r.addresses else ""))
    return 0


def add_devices(sub: Subparsers) -> None:
    p = sub.add_parser("devices", help="CPU, memory, GPUs and the ONNX Runtime providers that work")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_devices)


def add_token(sub: Subparsers) -> None:
    p = sub.add_parser("token", help="the Hugging Face token (kept in the OS keyring)")
    p.add_argument("action", choices=("set", "clear", "status"))
    p.set_defaults(func=cmd_token)


def add_network(sub: Subparsers) -> None:
    p = sub.add_parser("network", help="offline mode and every connection Ponder made (newest first)")
    p.add_argument("--offline", choices=("on", "off"), help="switch offline mode (kept in the settings)")
    p.add_argument("--limit", type=int, default=50, help="how many records to show (default 50)")
    p.add_argument("--clear", action="store_true", help="forget the recorded activity")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_network)
