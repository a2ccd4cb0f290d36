import type { Element, Jid, Session } from '../../server/api/index.js';

/** XEP-0004 field types. */
export type FieldType =
  | 'boolean' | 'fixed' | 'hidden' | 'jid-multi' | 'jid-single' | 'list-multi' | 'list-single'
  | 'text-multi' | 'text-private' | 'text-single';

/** One field of a data form (XEP-0004 section 3.2). */
export interface FormField {
  var: string;
  type?: FieldType;
  label?: string;
  desc?: string;
  required?: boolean;
  values?: readonly string[];
  options?: readonly { label?: string; value: string }[];
}

/** A data form to send: a form to fill in, or a result to show. */
export interface FormSpec {
  type: 'form' | 'result';
  title?: string;
  instructions?: string;
  /** The FORM_TYPE hidden field (XEP-0068), first in the form. */
  formType?: string;
  fields: readonly FormField[];
}

/** Who may see and run a command: admins of the server (config `admins`), any user of this server, or a rule of the command's own. */
export type CommandAccess = 'admin' | 'local' | ((requester: Jid) => boolean);

/** A note shown to the user with the response (XEP-0050 section 6.4). */
export interface CommandNote { type: 'info' | 'warn' | 'error'; text: string }

/** One step of a command run, as the command sees it. */
export interface CommandRequest {
  /** The full JID of the requesting entity. */
  readonly requester: Jid;
  /** The session it came from, when it came from a local client. */
  readonly session: Session | null;
  /** The JID the command was sent to (the server's domain). */
  readonly to: Jid;
  /** 'execute' for the first step; afterwards whatever the user chose among the offered actions. */
  readonly action: 'execute' | 'next' | 'prev' | 'complete';
  /** Field values of the submitted form (empty on the first step). */
  readonly values: ReadonlyMap<string, readonly string[]>;
  /** Kept for the command between the steps of one run (XEP-0050 session). */
  readonly state: Record<string, unknown>;
}

/** What a command answers to one step. Throw a StanzaError to refuse (forbidden, conflict, not-acceptable ...). */
export type CommandResponse =
  | {
    status: 'executing';
    form: Element;
    /** The actions offered (XEP-0050 section 6.3); default: complete only. `execute` is the default action. */
    actions?: { next?: boolean; prev?: boolean; complete?: boolean; execute?: 'next' | 'prev' | 'complete' };
    note?: CommandNote;
  }
  | { status: 'completed'; form?: Element; note?: CommandNote };

export interface AdhocCommand {
  /** The command node (e.g. `http://jabber.org/protocol/admin#add-user`). */
  node: string;
  /** The human-readable name listed in disco#items. */
  name: string;
  access: CommandAccess;
  run(request: CommandRequest): CommandResponse | Promise<CommandResponse>;
}

/**
 * The `adhoc` service: XEP-0050 Ad-Hoc Commands on the server's domain. Modules register commands;
 * the framework lists them (to those who may run them), keeps the sessions, checks actions and
 * access, and builds the protocol. Also the XEP-0004 helpers commands need for their forms.
 */
export interface AdhocService {
  /** Offer a command. Returns a function that withdraws it. */
  register(command: AdhocCommand): () => void;
  /** Build a data form. */
  form(spec: FormSpec): Element;
  /** The values of a submitted form by field name. */
  values(form: Element | undefined): Map<string, string[]>;
}

declare module '../../server/api/index.js' {
  interface ParleyServices {
    adhoc: AdhocService;
  }
}
