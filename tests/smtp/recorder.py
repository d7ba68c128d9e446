"""An aiosmtpd handler for Fidelis's tests: a real SMTP server that records what it receives.

    PYTHONPATH=tests/smtp /usr/bin/python3 -m aiosmtpd -n -l 127.0.0.1:PORT -c recorder.Recorder DIR

Every accepted message is written as DIR/NNNNNN.eml, byte for byte as received (written to a
temporary name first, then renamed, so a reader never sees half a message).

Recipients decide the answer, so a test can provoke each case:
  reject...@   550 5.1.1 (permanent: the sender must not retry)
  tempfail...@ 451 4.3.0 (temporary: the sender retries later)
  anything else is accepted (250).
"""

import itertools
import os


class Recorder:
    def __init__(self, directory):
        self.directory = directory
        os.makedirs(directory, exist_ok=True)
        self.counter = itertools.count(1)

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 1:
            parser.error("Recorder needs the directory to write messages to")
        return cls(args[0])

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("reject"):
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        if local.startswith("tempfail"):
            return "451 4.3.0 <%s>: mailbox busy, try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        n = next(self.counter)
        final = os.path.join(self.directory, "%06d.eml" % n)
        temp = final + ".tmp"
        with open(temp, "wb") as f:
            f.write(envelope.original_content)
        os.rename(temp, final)
        return "250 2.0.0 Ok: queued as %06d" % n
