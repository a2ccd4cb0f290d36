"""Interop check with slixmpp: log in over STARTTLS, send one message, wait for one, then leave.

Usage: python3 slixmpp_echo.py JID PASSWORD PORT TO BODY
Prints 'SENT', then 'GOT <from> <body>' for the first message received, and exits 0.
Exits 2 if nothing arrives within 15 seconds.
"""
import asyncio
import sys

import slixmpp

from slixmpp_compat import prepare_for_test_server


class Bot(slixmpp.ClientXMPP):
    def __init__(self, jid, password, to, body):
        super().__init__(jid, password)
        self.to, self.body = to, body
        self.got = asyncio.get_event_loop().create_future()
        self.add_event_handler('session_start', self.start)
        self.add_event_handler('message', self.message)
        self.add_event_handler('failed_auth', lambda _: self.got.done() or self.got.set_exception(RuntimeError('auth failed')))

    async def start(self, _event):
        self.send_presence()
        self.send_message(mto=self.to, mbody=self.body, mtype='chat')
        print('SENT', flush=True)

    def message(self, msg):
        if msg['type'] in ('chat', 'normal') and not self.got.done():
            self.got.set_result((str(msg['from']), msg['body']))


async def main():
    jid, password, port, to, body = sys.argv[1:6]
    bot = Bot(jid, password, to, body)
    prepare_for_test_server(bot)
    bot.connect(('127.0.0.1', int(port)))
    try:
        sender, text = await asyncio.wait_for(bot.got, 15)
    except asyncio.TimeoutError:
        print('TIMEOUT', flush=True)
        sys.exit(2)
    print('MECH', bot['feature_mechanisms'].mech.name if bot['feature_mechanisms'].mech else '?', flush=True)
    print('GOT', sender, text, flush=True)
    bot.disconnect()
    await asyncio.sleep(0.2)


asyncio.run(main())
