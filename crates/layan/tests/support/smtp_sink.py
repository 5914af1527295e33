"""An SMTP server for the email tests (aiosmtpd, Debian's python3-aiosmtpd): every accepted
mail is written to DIR/NNNN.eml with its envelope in DIR/NNNN.json. Recipients whose local
part starts with "reject" are refused for good (550), "later" for now (451).

    /usr/bin/python3 smtp_sink.py PORT DIR [CERT KEY]

With a certificate and key it requires STARTTLS before anything else.
"""
import asyncio
import json
import os
import ssl
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        if local.startswith("reject"):
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        if local.startswith("later"):
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(self.directory, "%04d" % self.count)
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8")
        with open(base + ".json.tmp", "w") as f:
            json.dump({"from": envelope.mail_from, "to": envelope.rcpt_tos}, f)
        os.rename(base + ".json.tmp", base + ".json")
        with open(base + ".tmp", "wb") as f:
            f.write(data)
        os.rename(base + ".tmp", base + ".eml")
        return "250 2.0.0 Ok: queued"


def main():
    port = int(sys.argv[1])
    directory = sys.argv[2]
    options = {}
    if len(sys.argv) > 4:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(sys.argv[3], sys.argv[4])
        options = {"tls_context": context, "require_starttls": True}
    controller = Controller(Sink(directory), hostname="127.0.0.1", port=port, **options)
    controller.start()
    print("ready", flush=True)
    try:
        # Until the test closes our stdin (or kills us).
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
