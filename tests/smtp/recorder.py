"""An aiosmtpd handler for Fidelis's tests: a real SMTP server that records what it receives.

    PYTHONPATH=tests/smtp /usr/bin/python3 -m aiosmtpd -n -l 127.0.0.1:PORT -c recorder.Recorder DIR

Every accepted message is written as DIR/NNNNNN.eml, byte for byte as received, and beside it
DIR/NNNNNN.json: the envelope and the message as Python's own MIME parser reads it (decoded
headers, each part's type, charset and decoded text), so tests in any language can check what a
mail client would show. Files are written under a temporary name, then renamed, so a reader never
sees half a message.

Recipients decide the answer, so a test can provoke each case:
  reject...@   550 5.1.1 (permanent: the sender must not retry)
  tempfail...@ 451 4.3.0 (temporary: the sender retries later)
  anything else is accepted (250).
"""

import email
import email.policy
import itertools
import json
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
        base = os.path.join(self.directory, "%06d" % n)
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        parts = []
        for part in message.walk():
            if part.is_multipart():
                continue
            parts.append({
                "content_type": part.get_content_type(),
                "charset": part.get_content_charset(),
                "transfer_encoding": part.get("Content-Transfer-Encoding"),
                "text": part.get_content(),
            })
        summary = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "headers": {name: str(value) for name, value in message.items()},
            "content_type": message.get_content_type(),
            "parts": parts,
        }
        # The .eml first: a reader lists the .json files, so one it sees always has its .eml.
        self._write(base + ".eml", envelope.original_content)
        self._write(base + ".json", json.dumps(summary, ensure_ascii=False).encode("utf-8"))
        return "250 2.0.0 Ok: queued as %06d" % n

    @staticmethod
    def _write(path, data):
        temp = path + ".tmp"
        with open(temp, "wb") as f:
            f.write(data)
        os.rename(temp, path)
