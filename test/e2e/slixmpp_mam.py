"""Interop check with slixmpp's XEP-0313 plugin: log in, page through the account's message archive
with RSM (XEP-0059), print each archived message, then leave.

Usage: python3 slixmpp_mam.py JID PASSWORD PORT PAGE_SIZE
Prints 'MSG <archive id> <from> <body>' per archived message in the order received, then 'DONE <n>'.
Exits 2 if the archive cannot be read within 20 seconds.
"""
import asyncio
import sys

import slixmpp

from slixmpp_compat import prepare_for_test_server


class Reader(slixmpp.ClientXMPP):
    def __init__(self, jid, password, page):
        super().__init__(jid, password)
        self.page = page
        self.done = asyncio.get_event_loop().create_future()
        self.register_plugin('xep_0059')
        self.register_plugin('xep_0313')
        self.add_event_handler('session_start', self.start)
        self.add_event_handler('failed_auth', lambda _: self.done.done() or self.done.set_exception(RuntimeError('auth failed')))

    async def start(self, _event):
        count = 0
        try:
            async for result in self['xep_0313'].iterate(rsm={'max': self.page}):
                forwarded = result['mam_result']['forwarded']
                msg = forwarded['stanza']
                print('MSG', result['mam_result']['id'], msg['from'].bare, msg['body'], flush=True)
                count += 1
            self.done.set_result(count)
        except Exception as err:  # noqa: BLE001 - reported to the test as it is
            self.done.set_exception(err)


async def main():
    jid, password, port, page = sys.argv[1:5]
    reader = Reader(jid, password, int(page))
    prepare_for_test_server(reader)
    reader.connect(('127.0.0.1', int(port)))
    try:
        n = await asyncio.wait_for(reader.done, 20)
    except asyncio.TimeoutError:
        print('TIMEOUT', flush=True)
        sys.exit(2)
    print('DONE', n, flush=True)
    reader.disconnect()
    await asyncio.sleep(0.2)


asyncio.run(main())
