"""A TLS SMTP server with AUTH for Fidelis's tests, recording like recorder.Recorder.

    /usr/bin/python3 tests/smtp/secure_server.py --port PORT --dir DIR --cert CERT --key KEY \
        --mode starttls|smtps --user USER --password PASSWORD

starttls: plain connection, STARTTLS required before anything else, then AUTH (PLAIN or LOGIN)
required. smtps: TLS from the first byte, then AUTH required. Runs until SIGTERM.
"""

import argparse
import signal
import ssl
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from recorder import Recorder


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--mode", choices=["starttls", "smtps"], required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    a = p.parse_args()

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == a.user
              and auth_data.password.decode() == a.password)
        return AuthResult(success=ok, handled=False)

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(a.cert, a.key)
    common = dict(hostname="127.0.0.1", port=a.port, authenticator=authenticator, auth_required=True)
    if a.mode == "starttls":
        controller = Controller(Recorder(a.dir), tls_context=context, require_starttls=True, auth_require_tls=True,
                                **common)
    else:
        # The whole connection is TLS, which aiosmtpd does not see as "TLS for AUTH": offer AUTH anyway.
        controller = Controller(Recorder(a.dir), ssl_context=context, server_hostname="localhost", auth_require_tls=False,
                                **common)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
