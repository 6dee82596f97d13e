"""Command line: ``serve`` the simulator, or ``ctl`` a running one as a phone would.

For example
``python -m vtx_simulator serve --host 127.0.0.1 --port 8099 [--data FILE] [--no-presence-push]
[--profile {default,wiki}] [--clock-offset SECONDS] [--latency-ms MS] [--jitter-ms MS] [--rate-limit N] [--push-concurrency N]``,
``python -m vtx_simulator ctl --url http://127.0.0.1:8099 dnd 176125 on``.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
import contextlib
import json
from pathlib import Path
import signal
import sys
from typing import Any

import aiohttp

from .assumed import A
from .const import (
    APPLICATION_HEADER,
    CONTROL_PREFIX,
    DEFAULT_DATA_PATH,
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEMO_APPLICATION_ID,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    FORWARD_KINDS,
    MALFORMED_PUSH_KINDS,
    PROFILE_DEFAULT,
    PROFILES,
    PUSH_CONNECTIONS,
    WIKI_DATA_PATH,
)

CTL_TIMEOUT = 30.0


def _on_off(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("on", "true", "1", "yes"):
        return True
    if lowered in ("off", "false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected on or off, not {value!r}")


def _json_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``python -m vtx_simulator``."""
    parser = argparse.ArgumentParser(prog="python -m vtx_simulator", description="Simulator of the VTX VoIP OpenAPI.")
    commands = parser.add_subparsers(dest="command")

    serve = commands.add_parser("serve", help="run the simulator (the default command)")
    serve.add_argument("--host", default=DEFAULT_HOST)
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument(
        "--data", type=Path, default=DEFAULT_DATA_PATH, help=f"seed JSON file (the wiki's account: {WIKI_DATA_PATH})"
    )
    serve.add_argument("--no-presence-push", action="store_true", help="refuse PRESENCE subscriptions (400)")
    serve.add_argument(
        "--profile",
        choices=PROFILES,
        default=PROFILE_DEFAULT,
        help="wiki: only what the wiki documents (no call history, renewal or PRESENCE push)",
    )
    serve.add_argument(
        "--clock-offset",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="the server's clock runs this far ahead (+) or behind (-) the host's",
    )
    serve.add_argument("--latency-ms", type=float, default=0.0, metavar="MS", help="delay every API answer and push")
    serve.add_argument("--jitter-ms", type=float, default=0.0, metavar="MS", help="latency varies by up to +- this")
    serve.add_argument(
        "--rate-limit",
        type=float,
        default=None,
        metavar="N",
        help="admit N API requests per second per account; answer the others 429 with Retry-After",
    )
    serve.add_argument(
        "--push-concurrency",
        type=int,
        default=1,
        metavar="N",
        help=f"deliver up to N pushes per notification URL at once, 1 to {PUSH_CONNECTIONS} "
        "(default 1: strictly in order; more: a later push may overtake an earlier one)",
    )
    serve.add_argument(
        "--version",
        metavar="BUILD_VERSION",
        help="the buildVersion the server info reports (default: the seed's, 7.7.2.12); from 7.8 on, "
        "user paths take login names",
    )
    serve.add_argument("--verbose", "-v", action="store_true")

    ctl = commands.add_parser("ctl", help="drive a running simulator through its control API")
    ctl.add_argument("--url", default=f"http://{DEFAULT_HOST}:{DEFAULT_PORT}", help="the simulator's root URL")
    sub = ctl.add_subparsers(dest="ctl_command", required=True)

    cmd = sub.add_parser("dnd", help="switch Do Not Disturb from the phone")
    cmd.add_argument("user_id", type=int)
    cmd.add_argument("state", type=_on_off)

    cmd = sub.add_parser("forward", help="switch a call forward from the phone")
    cmd.add_argument("user_id", type=int)
    cmd.add_argument("kind", choices=FORWARD_KINDS)
    cmd.add_argument("state", type=_on_off)
    cmd.add_argument("--to", help="new destination")

    cmd = sub.add_parser("feature", help="change any feature (status and/or data keys)")
    cmd.add_argument("user_id", type=int)
    cmd.add_argument("feat_name")
    cmd.add_argument("--status", choices=("ACTIVE", "INACTIVE"))
    cmd.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="data key (JSON value)")

    for name, text in (("call-start", "a call is answered"), ("call", "a whole call that just ended")):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("user_id", type=int)
        cmd.add_argument("--direction", choices=("incoming", "outgoing"), default="incoming")
        cmd.add_argument("--number", required=True, help="the other party, e.g. +41225117902")
        cmd.add_argument("--dial", help="callPartyDialNumber (default: the national form)")
        if name == "call":
            cmd.add_argument("--duration", type=int, default=0, help="seconds")
            cmd.add_argument("--missed", action="store_true", help="incoming and unanswered")

    cmd = sub.add_parser("call-end", help="the call in progress ends (logged and pushed)")
    cmd.add_argument("user_id", type=int)

    cmd = sub.add_parser("presence", help="set a presence")
    cmd.add_argument("user_id", type=int)
    cmd.add_argument("activity")
    cmd.add_argument("enhanced_activity")

    sub.add_parser("state", help="dump everything")
    sub.add_parser("subscriptions", help="list the subscriptions")
    cmd = sub.add_parser("requests", help="API request counts per method and path template")
    cmd.add_argument("--reset", action="store_true")
    sub.add_parser("reset", help="back to the seed")

    fault = sub.add_parser("fault", help="API fault injection").add_subparsers(dest="fault_kind", required=True)
    cmd = fault.add_parser("status", help="answer an HTTP status")
    cmd.add_argument("status", type=int)
    cmd.add_argument("--retry-after", type=float)
    cmd = fault.add_parser("hang", help="wait before answering")
    cmd.add_argument("seconds", type=float)
    cmd = fault.add_parser("malformed", help="answer malformed JSON")
    cmd = fault.add_parser("lost-answer", help="handle the request, then answer an HTTP status instead")
    cmd.add_argument("--status", type=int, default=503)
    cmd.add_argument("--retry-after", type=float)
    for name in ("status", "hang", "malformed", "lost-answer"):
        cmd = fault.choices[name]
        cmd.add_argument("--count", type=int, default=1, help="how many requests (0: until cleared)")
        cmd.add_argument("--method")
        cmd.add_argument("--path", help="route template or part of the path")
    fault.add_parser("clear")
    fault.add_parser("list")

    push = sub.add_parser("push-fault", help="push fault injection").add_subparsers(dest="push_kind", required=True)
    push.add_parser("delay").add_argument("seconds", type=float)
    push.add_parser("duplicate").add_argument("state", type=_on_off)
    push.add_parser("drop").add_argument("count", help="a number or 'all'")
    cmd = push.add_parser("malformed", help="spoil the payload of the next FEATURE pushes")
    cmd.add_argument("kind", choices=MALFORMED_PUSH_KINDS)
    cmd.add_argument("--count", default="1", help="how many pushes: a number or 'all'")
    cmd = push.add_parser("silent", help="accept these subscriptions but never deliver their pushes")
    cmd.add_argument("resources", nargs="*", choices=A.RESOURCE_TYPES, help="none: deliver every type again")
    push.add_parser("clear")
    push.add_parser("show")

    cmd = sub.add_parser("deliveries", help="the push log")
    cmd.add_argument("--clear", action="store_true")
    sub.add_parser("expire", help="make a subscription expire now").add_argument("subscription_id")
    clock = sub.add_parser("clock", help="the simulated clock").add_subparsers(dest="clock_command", required=True)
    clock.add_parser("advance").add_argument("seconds", type=float)
    clock.add_parser("skew", help="run ahead (+) or behind (-) the host's clock").add_argument("seconds", type=float)
    clock.add_parser("show")
    sub.add_parser("presence-push", help="accept PRESENCE subscriptions or not").add_argument("state", type=_on_off)
    cmd = sub.add_parser("profile", help="show or switch the profile (wiki: only what the wiki documents)")
    cmd.add_argument("profile", nargs="?", choices=PROFILES)
    cmd = sub.add_parser("version", help="show or set the buildVersion (7.8 and newer take login names)")
    cmd.add_argument("build_version", nargs="?")
    return parser


def ctl_request(args: argparse.Namespace) -> tuple[str, str, dict[str, Any] | None]:
    """Map a ``ctl`` command to (method, control path, JSON body)."""
    command: str = args.ctl_command
    user: dict[str, Any] = {"userId": args.user_id} if hasattr(args, "user_id") else {}
    if command == "dnd":
        return "POST", "dnd", {**user, "on": args.state}
    if command == "forward":
        return "POST", "forward", {**user, "kind": args.kind, "on": args.state, "to": args.to}
    if command == "feature":
        data = {}
        for item in args.set:
            key, sep, value = item.partition("=")
            if not sep:
                raise SystemExit(f"--set takes KEY=VALUE, not {item!r}")
            data[key] = _json_value(value)
        return "POST", "feature", {**user, "featName": args.feat_name, "status": args.status, "data": data or None}
    if command in ("call-start", "call"):
        body = {**user, "direction": args.direction, "number": args.number, "dialNumber": args.dial}
        if command == "call":
            return "POST", "call", {**body, "duration": args.duration, "missed": args.missed}
        return "POST", "call/start", body
    if command == "call-end":
        return "POST", "call/end", user
    if command == "presence":
        return "POST", "presence", {**user, "activity": args.activity, "enhancedActivity": args.enhanced_activity}
    if command in ("state", "subscriptions"):
        return "GET", command, None
    if command == "requests":
        return ("DELETE" if args.reset else "GET"), "requests", None
    if command == "reset":
        return "POST", "reset", None
    if command == "fault":
        if args.fault_kind == "clear":
            return "DELETE", "faults", None
        if args.fault_kind == "list":
            return "GET", "faults", None
        kind = args.fault_kind.replace("-", "_")
        body = {"kind": kind, "count": args.count, "method": args.method, "path": args.path}
        if kind in ("status", "lost_answer"):
            body.update(status=args.status, retryAfter=args.retry_after)
        elif args.fault_kind == "hang":
            body["seconds"] = args.seconds
        return "POST", "faults", body
    if command == "push-fault":
        kind = args.push_kind
        if kind == "clear":
            return "DELETE", "push-faults", None
        if kind == "show":
            return "GET", "push-faults", None
        if kind == "delay":
            return "POST", "push-faults", {"delay": args.seconds}
        if kind == "duplicate":
            return "POST", "push-faults", {"duplicate": args.state}
        if kind == "silent":
            return "POST", "push-faults", {"silent": list(args.resources)}
        if kind == "malformed":
            count = "all" if args.count == "all" else int(args.count)
            return "POST", "push-faults", {"malformed": {"kind": args.kind, "count": count}}
        return "POST", "push-faults", {"drop": "all" if args.count == "all" else int(args.count)}
    if command == "deliveries":
        return ("DELETE" if args.clear else "GET"), "deliveries", None
    if command == "expire":
        return "POST", "expire", {"subscriptionId": args.subscription_id}
    if command == "clock":
        if args.clock_command == "show":
            return "GET", "clock", None
        return "POST", "clock", {args.clock_command: args.seconds}
    if command == "version":
        if args.build_version is None:
            return "GET", "version", None
        return "POST", "version", {"buildVersion": args.build_version}
    if command == "profile":
        return ("GET", "profile", None) if args.profile is None else ("POST", "profile", {"profile": args.profile})
    return "POST", "presence-push", {"enabled": args.state}


async def run_ctl(args: argparse.Namespace) -> int:
    """Send one control command; print the JSON answer; 0 on success."""
    method, path, body = ctl_request(args)
    url = args.url.rstrip("/") + CONTROL_PREFIX + path
    timeout = aiohttp.ClientTimeout(total=CTL_TIMEOUT)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.request(method, url, json=body) as response,
        ):
            text = await response.text()
            status = response.status
    except (aiohttp.ClientError, OSError, TimeoutError) as err:
        print(f"error: cannot reach the simulator at {args.url}: {err}", file=sys.stderr)
        return 2
    try:
        print(json.dumps(json.loads(text), indent=2))
    except ValueError:
        print(text)
    return 0 if status < 400 else 1


def banner(
    url: str,
    api_url: str,
    control_url: str,
    lines: Sequence[tuple[int, str, str]],
    *,
    profile: str = PROFILE_DEFAULT,
    clock_offset: float = 0.0,
    version: str = "",
) -> str:
    """Return what ``serve`` prints on start."""
    rows = "\n".join(f"    userId {user_id}  {login}  {name}" for user_id, login, name in lines)
    return (
        f"VTX OpenAPI simulator listening on {url}\n"
        f"  API base URL    {api_url}\n"
        f"  profile         {profile}\n"
        f"  buildVersion    {version or '-'}\n"
        f"  clock offset    {clock_offset:+g} s\n"
        f"  username        {DEMO_USERNAME}\n"
        f"  password        {DEMO_PASSWORD}\n"
        f"  {APPLICATION_HEADER}  {DEMO_APPLICATION_ID}\n"
        f"  control API     {control_url}  (python -m vtx_simulator ctl --url {url} state)\n"
        f"  lines\n{rows}"
    )


async def serve(args: argparse.Namespace, stop: asyncio.Event | None = None) -> None:
    """Run the simulator until ``stop`` is set (or SIGINT/SIGTERM)."""
    from .simulator import Simulator  # noqa: PLC0415 - ``ctl`` does not need the server

    sim = Simulator(
        args.data,
        host=args.host,
        port=args.port,
        presence_push=not args.no_presence_push,
        profile=args.profile,
        clock_offset=args.clock_offset,
        latency_ms=args.latency_ms,
        jitter_ms=args.jitter_ms,
        rate_limit=args.rate_limit,
        version=args.version,
        push_concurrency=args.push_concurrency,
    )
    await sim.start()
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop.set)
            handled.append(signum)
    try:
        lines = [(line.user_id, line.login_name, line.name) for line in sim.state.lines.values()]
        text = banner(
            sim.url,
            sim.base_url,
            sim.control_url,
            lines,
            profile=sim.profile,
            clock_offset=sim.clock_offset,
            version=sim.version,
        )
        print(text, flush=True)
        if args.latency_ms or args.jitter_ms or args.rate_limit:
            limit = "none" if args.rate_limit is None else f"{args.rate_limit:g} requests/s per account"
            print(f"  network         {args.latency_ms:g} +- {args.jitter_ms:g} ms, rate limit {limit}", flush=True)
        await stop.wait()
    finally:
        for signum in handled:
            loop.remove_signal_handler(signum)
        await sim.stop()


async def async_main(argv: Sequence[str] | None = None) -> int:
    """Entry point inside a running event loop."""
    arguments = list(argv or [])
    if not arguments or arguments[0] not in ("serve", "ctl", "-h", "--help"):
        arguments.insert(0, "serve")  # ``serve`` is the default command
    args = build_parser().parse_args(arguments)
    if args.command == "ctl":
        return await run_ctl(args)
    if args.verbose:
        import logging  # noqa: PLC0415

        logging.basicConfig(level=logging.DEBUG)
    await serve(args)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m vtx_simulator``."""
    return asyncio.run(async_main(sys.argv[1:] if argv is None else argv))
