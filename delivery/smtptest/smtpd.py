"""A real SMTP server for idcon's tests (delivery, ui, e2e), built on Debian's python3-aiosmtpd.

Usage: smtpd.py --dir DIR [--auth USER:PASSWORD] [--tls implicit|starttls --cert PEM --key PEM]

It listens on a free port of 127.0.0.1, prints "PORT <n>" once it accepts
connections, and stops when its standard input closes (so it never outlives
the test that started it). Each message it accepts is written to DIR as
msg-<n>.eml (the raw message) and msg-<n>.json (envelope sender and
recipients), the .json last, before the 250 reply goes out.

Behaviour the tests rely on:
  * a recipient starting with "reject" is refused with 550 5.1.1;
  * a message to a recipient starting with "slow" gets no reply for 60 s;
  * with --auth, login is required (also over plain connections) and only
    USER with PASSWORD is accepted;
  * with --tls implicit it speaks TLS from the first byte, with --tls
    starttls it offers STARTTLS, both with the given certificate.
"""
import argparse
import asyncio
import json
import os
import ssl
import sys
import threading

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Handler:
    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("reject"):
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if any(r.startswith("slow") for r in envelope.rcpt_tos):
            await asyncio.sleep(60)
        self.count += 1
        base = os.path.join(self.out_dir, "msg-%d" % self.count)
        write_atomic(base + ".eml", envelope.original_content)
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos}
        write_atomic(base + ".json", json.dumps(meta).encode())
        return "250 OK queued as %d" % self.count


def write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def make_authenticator(user, password):
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        return AuthResult(success=ok, handled=False)

    return authenticator


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--auth", default="")
    parser.add_argument("--tls", choices=["", "implicit", "starttls"], default="")
    parser.add_argument("--cert", default="")
    parser.add_argument("--key", default="")
    args = parser.parse_args()

    tls_context = None
    if args.tls:
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(args.cert, args.key)

    handler = Handler(args.dir)
    kwargs = {"hostname": "localhost"}
    if args.auth:
        user, _, password = args.auth.partition(":")
        kwargs.update(
            authenticator=make_authenticator(user, password),
            auth_required=True,
            auth_require_tls=False,
        )
    if args.tls == "starttls":
        kwargs["tls_context"] = tls_context

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def wait_for_stdin_eof():
        sys.stdin.buffer.read()
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=wait_for_stdin_eof, daemon=True).start()

    server = await loop.create_server(
        lambda: SMTP(handler, **kwargs),
        host="127.0.0.1",
        port=0,
        ssl=tls_context if args.tls == "implicit" else None,
    )
    print("PORT %d" % server.sockets[0].getsockname()[1], flush=True)
    await stop.wait()
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
