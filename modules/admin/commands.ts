import {
  Jid, StanzaError, xml,
  type AccountAdminService, type ModuleContext,
} from '../../server/api/index.js';
import type { AdhocCommand, AdhocService, CommandRequest, CommandResponse, FormField } from '../adhoc/service.js';

/** XEP-0133 section 5.2: the FORM_TYPE of every form here. */
export const ADMIN = 'http://jabber.org/protocol/admin';
const node = (name: string) => `${ADMIN}#${name}`;

type Ctx = Pick<ModuleContext, 'accounts' | 'sessions' | 'router' | 'log'>;

interface Deps {
  ctx: Ctx;
  adhoc: AdhocService;
  accounts: AccountAdminService;
}

interface FormCommand {
  name: string;
  title: string;
  instructions: string;
  fields: FormField[];
  /** The second step: act on the submitted values. */
  submit(values: ReadonlyMap<string, readonly string[]>, request: CommandRequest): Promise<CommandResponse> | CommandResponse;
}

/**
 * The usual shape of an XEP-0133 command: the first step answers a form, the submitted form is
 * acted on and the run completes.
 */
function formCommand(d: Deps, c: FormCommand): AdhocCommand {
  return {
    node: node(c.name),
    name: c.title,
    access: 'admin',
    run: (request) => {
      if (!request.state.formSent) {
        request.state.formSent = true;
        return {
          status: 'executing',
          form: d.adhoc.form({ type: 'form', title: c.title, instructions: c.instructions, formType: ADMIN, fields: c.fields }),
          actions: { complete: true },
        };
      }
      return c.submit(request.values, request);
    },
  };
}

const one = (values: ReadonlyMap<string, readonly string[]>, field: string): string => (values.get(field)?.[0] ?? '').trim();
const done = (text: string): CommandResponse => ({ status: 'completed', note: { type: 'info', text } });

/** A JID from a form, which must be on one of this server's domains. */
function hostedJid(d: Deps, value: string, bareOnly: boolean): Jid {
  const jid = Jid.tryParse(value);
  if (!jid || jid.local === '') throw new StanzaError('jid-malformed', `'${value}' is not a user's JID`);
  if (!d.ctx.accounts.isLocalDomain(jid.domain)) throw new StanzaError('not-allowed', `${jid.domain} is not hosted here`);
  return bareOnly ? jid.bareJid() : jid;
}

/**
 * Apply `fn` to every JID of the `accountjids` field. With one JID its error is the command's
 * error; with several, the failures are listed in a warning and the others are done.
 */
async function eachAccount(d: Deps, values: ReadonlyMap<string, readonly string[]>, bareOnly: boolean,
  verb: string, fn: (jid: Jid) => Promise<void> | void): Promise<CommandResponse> {
  const raw = (values.get('accountjids') ?? []).map((v) => v.trim()).filter((v) => v !== '');
  if (raw.length === 0) throw new StanzaError('bad-request', 'No JID given in accountjids');
  if (raw.length === 1) {
    await fn(hostedJid(d, raw[0]!, bareOnly));
    return done(`${verb}: ${raw[0]}`);
  }
  const failures: string[] = [];
  for (const value of raw) {
    try {
      await fn(hostedJid(d, value, bareOnly));
    } catch (err) {
      if (!(err instanceof StanzaError)) throw err;
      failures.push(`${value} (${err.text ?? err.condition})`);
    }
  }
  if (failures.length === 0) return done(`${verb}: ${raw.join(', ')}`);
  return { status: 'completed', note: { type: 'warn', text: `Not ${verb.toLowerCase()}: ${failures.join('; ')}` } };
}

/** Accounts from another provider (the directory) are managed there, not by these commands. */
async function localOnly(d: Deps, jid: Jid): Promise<void> {
  if (d.accounts.isLocal(jid)) return;
  if (await d.ctx.accounts.exists(jid)) throw new StanzaError('not-allowed', `${jid.bare} is not managed by this server (it comes from another account source)`);
  throw new StanzaError('item-not-found', `There is no account ${jid.bare}`);
}

const accountJids = (label: string): FormField => ({ var: 'accountjids', type: 'jid-multi', label, required: true });

/** XEP-0133 sections 4.1 to 4.5, 4.7, 4.15, 4.20 and 4.23. */
export function adminCommands(d: Deps): AdhocCommand[] {
  return [
    formCommand(d, {
      name: 'add-user', title: 'Add a User', instructions: 'Fill out this form to add a user.',
      fields: [
        { var: 'accountjid', type: 'jid-single', label: 'The Jabber ID for the account to be added', required: true },
        { var: 'password', type: 'text-private', label: 'The password for this account', required: true },
        { var: 'password-verify', type: 'text-private', label: 'Retype password', required: true },
        { var: 'email', type: 'text-single', label: 'Email address' },
        { var: 'given_name', type: 'text-single', label: 'Given name' },
        { var: 'surname', type: 'text-single', label: 'Family name' },
      ],
      async submit(values) {
        const jid = hostedJid(d, one(values, 'accountjid'), true);
        const password = values.get('password')?.[0] ?? '';
        if (password === '') throw new StanzaError('not-acceptable', 'A password is required');
        if (values.has('password-verify') && values.get('password-verify')?.[0] !== password) {
          throw new StanzaError('not-acceptable', 'The two passwords differ');
        }
        // email, given_name and surname are accepted and not stored: there is no account profile yet.
        await d.accounts.create(jid, password);
        d.ctx.log.info({ account: jid.bare }, 'account created by an administrator');
        return done(`Account ${jid.bare} created`);
      },
    }),
    formCommand(d, {
      name: 'delete-user', title: 'Delete a User', instructions: 'Fill out this form to delete a user.',
      fields: [accountJids('The Jabber ID(s) to delete')],
      submit: (values) => eachAccount(d, values, true, 'Deleted', async (jid) => { await localOnly(d, jid); await d.accounts.delete(jid); }),
    }),
    formCommand(d, {
      name: 'disable-user', title: 'Disable a User', instructions: 'Fill out this form to disable a user.',
      fields: [accountJids('The Jabber ID(s) to disable')],
      submit: (values, request) => eachAccount(d, values, true, 'Disabled', async (jid) => {
        await localOnly(d, jid);
        await d.accounts.disable(jid, `disabled by ${request.requester.bare}`);
      }),
    }),
    formCommand(d, {
      name: 'reenable-user', title: 'Re-Enable a User', instructions: 'Fill out this form to re-enable a user.',
      fields: [accountJids('The Jabber ID(s) to re-enable')],
      submit: (values) => eachAccount(d, values, true, 'Re-enabled', async (jid) => { await localOnly(d, jid); await d.accounts.enable(jid); }),
    }),
    formCommand(d, {
      name: 'end-user-session', title: 'End User Session', instructions: 'Fill out this form to end a user\'s session.',
      // Section 4.5: a bare JID ends every session of the user, a full JID only that one.
      fields: [accountJids('The Jabber ID(s) for which to end sessions')],
      submit: (values, request) => eachAccount(d, values, false, 'Sessions ended', (jid) => {
        const n = d.accounts.endSessions(jid, `session ended by the administrator ${request.requester.bare}`);
        if (n === 0) throw new StanzaError('item-not-found', `${jid.full} has no session`);
      }),
    }),
    formCommand(d, {
      name: 'change-user-password', title: 'Change User Password', instructions: 'Fill out this form to change a user\'s password.',
      fields: [
        { var: 'accountjid', type: 'jid-single', label: 'The Jabber ID for this account', required: true },
        { var: 'password', type: 'text-private', label: 'The password for this account', required: true },
      ],
      async submit(values) {
        const jid = hostedJid(d, one(values, 'accountjid'), true);
        const password = values.get('password')?.[0] ?? '';
        if (password === '') throw new StanzaError('not-acceptable', 'A password is required');
        await localOnly(d, jid);
        await d.accounts.setPassword(jid, password);
        return done(`Password of ${jid.bare} changed`);
      },
    }),
    {
      // Section 4.15: answered at once, no form to fill in.
      node: node('get-online-users-num'),
      name: 'Get Number of Online Users',
      access: 'admin',
      run: (request) => ({
        status: 'completed',
        form: d.adhoc.form({
          type: 'result', title: 'Number of Online Users', formType: ADMIN,
          fields: [{ var: 'onlineusersnum', type: 'text-single', label: 'The number of online users', values: [String(onlineUsers(d, request.to.domain).length)] }],
        }),
      }),
    },
    formCommand(d, {
      name: 'get-online-users-list', title: 'Get List of Online Users', instructions: 'Fill out this form to request the online users of this service.',
      fields: [{
        var: 'max_items', type: 'list-single', label: 'Maximum number of items to show', values: ['100'],
        options: ['25', '50', '75', '100', '150', '200', 'none'].map((v) => ({ label: v === 'none' ? 'None' : v, value: v })),
      }],
      submit(values, request) {
        const limit = one(values, 'max_items');
        const max = limit === '' || limit === 'none' ? Infinity : Number.parseInt(limit, 10);
        if (!(max > 0)) throw new StanzaError('not-acceptable', `max_items must be a positive number or 'none', not '${limit}'`);
        const users = onlineUsers(d, request.to.domain).slice(0, max);
        return {
          status: 'completed',
          form: d.adhoc.form({
            type: 'result', title: 'Online Users', formType: ADMIN,
            fields: [{ var: 'onlineuserjids', type: 'jid-multi', label: 'The list of all online users', values: users }],
          }),
        };
      },
    }),
    formCommand(d, {
      name: 'announce', title: 'Send Announcement to Online Users', instructions: 'Fill out this form to make an announcement to all online users of this service.',
      fields: [
        { var: 'subject', type: 'text-single', label: 'Subject' },
        { var: 'announcement', type: 'text-multi', label: 'Announcement', required: true },
      ],
      submit(values, request) {
        const text = (values.get('announcement') ?? []).join('\n');
        if (text.trim() === '') throw new StanzaError('not-acceptable', 'The announcement is empty');
        const subject = one(values, 'subject');
        const domain = request.to.domain;
        let n = 0;
        for (const s of d.ctx.sessions.all()) {
          if (s.jid.domain !== domain) continue;
          // A headline: shown now, not stored offline for those who are not online (RFC 6121 5.2.2).
          const message = xml('message', { type: 'headline', from: domain, to: s.jid.full },
            subject ? xml('subject', {}, subject) : null, xml('body', {}, text));
          if (d.ctx.router.deliver(s, message)) n++;
        }
        d.ctx.log.info({ by: request.requester.bare, sessions: n }, 'announcement sent');
        return done(`Announcement sent to ${n} session${n === 1 ? '' : 's'}`);
      },
    }),
  ];
}

/** Bare JIDs with at least one session on `domain`, sorted. */
function onlineUsers(d: Deps, domain: string): string[] {
  const users = new Set<string>();
  for (const s of d.ctx.sessions.all()) if (s.jid.domain === domain) users.add(s.jid.bare);
  return [...users].sort();
}
