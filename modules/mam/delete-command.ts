import type { AdhocCommand, AdhocService } from '../adhoc/service.js';
import type { ArchiveService } from '../archive/service.js';
import { parseDateTime, parseJid } from './protocol.js';

/** The command node; Parley's own, as XEP-0441 names only a configuration node (urn:xmpp:mam#configure). */
export const DELETE_HISTORY_NODE = 'urn:x-parley:mam#delete-history';

/**
 * XEP-0050 command "Delete my message history": any local user removes messages from their own
 * history (what MAM gives their devices), all of it or with one contact and/or in a time range.
 * The compliance record keeps every message, and the form says so: deleting is about what the
 * user's devices can load, not about what the organisation must keep.
 */
export function deleteHistoryCommand(adhoc: AdhocService, archive: ArchiveService): AdhocCommand {
  return {
    node: DELETE_HISTORY_NODE,
    name: 'Delete my message history',
    access: 'local',
    async run(request) {
      if (!request.state.formSent) {
        request.state.formSent = true;
        return {
          status: 'executing',
          form: adhoc.form({
            type: 'form',
            title: 'Delete my message history',
            instructions: 'Messages are removed from the history your devices load from the server. Leave every field empty to delete all of it. '
              + 'Your organisation\'s compliance archive keeps its own record of every message and is not changed.',
            formType: DELETE_HISTORY_NODE,
            fields: [
              { var: 'with', type: 'jid-single', label: 'Only messages with this contact (a bare JID means every resource)' },
              { var: 'start', type: 'text-single', label: 'Only messages at or after (e.g. 2026-01-05T00:00:00Z)' },
              { var: 'end', type: 'text-single', label: 'Only messages at or before (e.g. 2026-01-31T23:59:59Z)' },
            ],
          }),
          actions: { complete: true },
        };
      }
      const value = (field: string) => (request.values.get(field)?.[0] ?? '').trim();
      const filter: { with?: string; start?: number; end?: number } = {};
      if (value('with')) filter.with = parseJid(value('with'), "The field 'with'");
      if (value('start')) filter.start = parseDateTime(value('start'), 'start');
      if (value('end')) filter.end = parseDateTime(value('end'), 'end');
      const removed = await archive.hideFromHistory(request.requester.bare, filter);
      return {
        status: 'completed',
        note: { type: 'info', text: removed === 1 ? 'Deleted 1 message from your history' : `Deleted ${removed} messages from your history` },
      };
    },
  };
}
