"""``ponder serve`` and ``remote``: the local OpenAI-compatible API, and the remote engines Ponder talks to."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace

from engine.cli.common import PROVIDERS, Subparsers, read_secret
from engine.system.errors import PonderError


def cmd_serve(args: argparse.Namespace) -> int:
    from engine.system.secrets import api_key, reset_api_key

    if args.show_key or args.new_key:
        print(reset_api_key() if args.new_key else api_key())
        return 0
    from engine.serve.api.auth import is_loopback
    from engine.serve.api.server import ApiServer
    from engine.system import privacy
    from engine.system.settings import load_settings

    settings = load_settings()
    overrides = {"provider": args.provider, "threads": args.threads, "context_length": args.context}
    settings = replace(settings, **{k: v for k, v in overrides.items() if v is not None})
    reason = privacy.offline_reason()
    if reason and not is_loopback(args.host):
        raise PonderError(f"Cannot serve on {args.host}: {reason[0].lower()}{reason[1:]}.",
                          "Serve on 127.0.0.1, or switch offline mode off ('ponder network --offline off').")
    server = ApiServer.from_settings(settings, args.host, args.port, allow_remote=args.allow_remote,
                                     allowed_hosts=args.allowed_host or ())
    if not is_loopback(args.host):
        print(f"Warning: serving on {args.host}: other computers on the network can reach the API (the key is still "
              "required, and http:// is not encrypted).", file=sys.stderr)
    server.start()
    from engine.system.secrets import keyring_status

    if keyring_status().available:
        where = "key: 'ponder serve --show-key'"
    else:  # the key lives only in this process: say it, or no client could ever use the server
        where = f"key for this session only (no OS keyring to keep it): {server.key}"
    print(f"OpenAI-compatible API at {server.url} ({where}). Press Ctrl+C to stop.", flush=True)
    try:
        while server.running:
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nStopping.", file=sys.stderr)
    finally:
        server.stop()
    return 0


def cmd_remote(args: argparse.Namespace) -> int:
    from engine.serve.remote_engines import RemoteEngines

    engines = RemoteEngines()
    if args.remote_command == "add":
        key = read_secret(f"Key for {args.name}: ") if args.key else None
        if args.key and not key:
            raise PonderError("No key given.", "Paste the engine's API key, or leave out --key if it needs none.")
        engine = engines.add(args.name, args.url, key, replace=args.replace)
        if key and not engine.encrypted:
            print(f"Warning: {engine.url} is not https: the key and your messages cross the network unencrypted.",
                  file=sys.stderr)
        print(f"Added {engine.name}: {engine.url}" + (" (key in the keyring)" if key else ""))
        return 0
    if args.remote_command == "list":
        rows = [{"name": e.name, "url": e.url, "key": engines.key(e.name) is not None} for e in engines.engines()]
        if args.json:
            print(json.dumps(rows, indent=2))
        elif not rows:
            print("No remote engines (add one with 'ponder remote add NAME URL').")
        for r in [] if args.json else rows:
            print(f"  {r['name']:24} {r['url']}" + ("  (key set)" if r["key"] else ""))
        return 0
    if args.remote_command == "remove":
        engines.remove(args.name)
        print(f"Removed {args.name}.")
        return 0
    models = engines.models(args.name)
    print(json.dumps(models) if args.json else "\n".join(models) or "(no models)")
    return 0


def add_serve(sub: Subparsers) -> None:
    p = sub.add_parser("serve", help="an OpenAI-compatible API for the installed models (127.0.0.1, needs the key)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow a --host other than loopback: other computers can then reach the API")
    p.add_argument("--allowed-host", action="append", help="extra Host name accepted with --allow-remote")
    p.add_argument("--provider", choices=PROVIDERS)
    p.add_argument("--threads", type=int)
    p.add_argument("--context", type=int, help="context length in tokens (default: the Settings value)")
    p.add_argument("--show-key", action="store_true", help="print the API key and exit")
    p.add_argument("--new-key", action="store_true", help="replace the API key, print the new one and exit")
    p.set_defaults(func=cmd_serve)


def add_remote(sub: Subparsers) -> None:
    p = sub.add_parser("remote", help="remote OpenAI-compatible engines (vLLM, Ollama, exo, another Ponder)")
    remote = p.add_subparsers(dest="remote_command", required=True)
    r = remote.add_parser("add", help="save an engine by name and URL (its key goes to the OS keyring)")
    r.add_argument("name")
    r.add_argument("url", help="the API base, e.g. http://192.168.1.20:8000/v1")
    r.add_argument("--key", action="store_true", help="ask for the engine's API key (or read it from stdin)")
    r.add_argument("--replace", action="store_true", help="replace a saved engine of the same name")
    r = remote.add_parser("list", help="saved engines")
    r.add_argument("--json", action="store_true")
    r = remote.add_parser("remove", help="forget an engine and its key")
    r.add_argument("name")
    r = remote.add_parser("models", help="the models an engine serves")
    r.add_argument("name")
    r.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_remote)
