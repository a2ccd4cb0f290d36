import type { Subscription } from '../roster/service.js';

/**
 * The subscription state machine of RFC 6121 Appendix A, as tables a reader can hold against the
 * RFC. A state is seen from one account ("the user") towards one contact.
 */
export type StateName =
  | 'None' | 'None + Pending Out' | 'None + Pending In' | 'None + Pending Out/In'
  | 'To' | 'To + Pending In' | 'From' | 'From + Pending Out' | 'Both';

export type SubscriptionType = 'subscribe' | 'subscribed' | 'unsubscribe' | 'unsubscribed';

export const SUBSCRIPTION_TYPES: ReadonlySet<string> = new Set<SubscriptionType>(['subscribe', 'subscribed', 'unsubscribe', 'unsubscribed']);

/** The parts of a state as they are stored: the roster item's subscription and ask, and a pending request. */
export interface SubscriptionState {
  subscription: Subscription;
  /** The user asked the contact (roster item ask='subscribe'). */
  pendingOut: boolean;
  /** The contact asked the user and has no answer yet (a stored pending request). */
  pendingIn: boolean;
}

/** One row: whether the stanza goes on (route for outbound, deliver for inbound) and the new state (null: no change). */
type Row = readonly [goesOn: boolean, next: StateName | null];
type Table = Readonly<Record<StateName, Row>>;

/**
 * A.2 outbound tables (the user's server, on a stanza from the user). Outbound subscribe and
 * unsubscribe are routed in every state, so that a contact's server that is out of step can catch
 * up: the contact's server answers a repeated request itself (A.3.1, 3.1.3).
 */
const OUTBOUND: Readonly<Record<SubscriptionType, Table>> = {
  // A.2.1
  subscribe: {
    'None': [true, 'None + Pending Out'],
    'None + Pending Out': [true, null],
    'None + Pending In': [true, 'None + Pending Out/In'],
    'None + Pending Out/In': [true, null],
    'To': [true, null],
    'To + Pending In': [true, null],
    'From': [true, 'From + Pending Out'],
    'From + Pending Out': [true, null],
    'Both': [true, null],
  },
  // A.2.2
  unsubscribe: {
    'None': [true, null],
    'None + Pending Out': [true, 'None'],
    'None + Pending In': [true, null],
    'None + Pending Out/In': [true, 'None + Pending In'],
    'To': [true, 'None'],
    'To + Pending In': [true, 'None + Pending In'],
    'From': [true, null],
    'From + Pending Out': [true, 'From'],
    'Both': [true, 'From'],
  },
  // A.2.3 ("no state change" rows where nothing is pending in: a pre-approval, 3.4)
  subscribed: {
    'None': [false, null],
    'None + Pending Out': [false, null],
    'None + Pending In': [true, 'From'],
    'None + Pending Out/In': [true, 'From + Pending Out'],
    'To': [false, null],
    'To + Pending In': [true, 'Both'],
    'From': [false, null],
    'From + Pending Out': [false, null],
    'Both': [false, null],
  },
  // A.2.4 ("no state change" rows without a subscription from the contact: cancels a pre-approval)
  unsubscribed: {
    'None': [false, null],
    'None + Pending Out': [false, null],
    'None + Pending In': [true, 'None'],
    'None + Pending Out/In': [true, 'None + Pending Out'],
    'To': [false, null],
    'To + Pending In': [true, 'To'],
    'From': [true, 'None'],
    'From + Pending Out': [true, 'None + Pending Out'],
    'Both': [true, 'To'],
  },
};

/** A.3 inbound tables (the contact's server, on a stanza to the contact; "the user" is then the contact). */
const INBOUND: Readonly<Record<SubscriptionType, Table>> = {
  // A.3.1 (the "no" rows with a subscription already granted are answered with 'subscribed', 3.1.3)
  subscribe: {
    'None': [true, 'None + Pending In'],
    'None + Pending Out': [true, 'None + Pending Out/In'],
    'None + Pending In': [false, null],
    'None + Pending Out/In': [false, null],
    'To': [true, 'To + Pending In'],
    'To + Pending In': [false, null],
    'From': [false, null],
    'From + Pending Out': [false, null],
    'Both': [false, null],
  },
  // A.3.2
  unsubscribe: {
    'None': [false, null],
    'None + Pending Out': [false, null],
    'None + Pending In': [true, 'None'],
    'None + Pending Out/In': [true, 'None + Pending Out'],
    'To': [false, null],
    'To + Pending In': [true, 'To'],
    'From': [true, 'None'],
    'From + Pending Out': [true, 'None + Pending Out'],
    'Both': [true, 'To'],
  },
  // A.3.3
  subscribed: {
    'None': [false, null],
    'None + Pending Out': [true, 'To'],
    'None + Pending In': [false, null],
    'None + Pending Out/In': [true, 'To + Pending In'],
    'To': [false, null],
    'To + Pending In': [false, null],
    'From': [false, null],
    'From + Pending Out': [true, 'Both'],
    'Both': [false, null],
  },
  // A.3.4
  unsubscribed: {
    'None': [false, null],
    'None + Pending Out': [true, 'None'],
    'None + Pending In': [false, null],
    'None + Pending Out/In': [true, 'None + Pending In'],
    'To': [true, 'None'],
    'To + Pending In': [true, 'None + Pending In'],
    'From': [false, null],
    'From + Pending Out': [true, 'From'],
    'Both': [true, 'From'],
  },
};

export function stateName(s: SubscriptionState): StateName {
  switch (s.subscription) {
    case 'both': return 'Both';
    case 'to': return s.pendingIn ? 'To + Pending In' : 'To';
    case 'from': return s.pendingOut ? 'From + Pending Out' : 'From';
    default:
      if (s.pendingOut && s.pendingIn) return 'None + Pending Out/In';
      if (s.pendingOut) return 'None + Pending Out';
      if (s.pendingIn) return 'None + Pending In';
      return 'None';
  }
}

export function stateParts(name: StateName): SubscriptionState {
  switch (name) {
    case 'None': return { subscription: 'none', pendingOut: false, pendingIn: false };
    case 'None + Pending Out': return { subscription: 'none', pendingOut: true, pendingIn: false };
    case 'None + Pending In': return { subscription: 'none', pendingOut: false, pendingIn: true };
    case 'None + Pending Out/In': return { subscription: 'none', pendingOut: true, pendingIn: true };
    case 'To': return { subscription: 'to', pendingOut: false, pendingIn: false };
    case 'To + Pending In': return { subscription: 'to', pendingOut: false, pendingIn: true };
    case 'From': return { subscription: 'from', pendingOut: false, pendingIn: false };
    case 'From + Pending Out': return { subscription: 'from', pendingOut: true, pendingIn: false };
    case 'Both': return { subscription: 'both', pendingOut: false, pendingIn: false };
  }
}

export interface Transition {
  /** Route (outbound) or deliver (inbound) the stanza. */
  goesOn: boolean;
  before: StateName;
  /** The new state, or null for "no state change". */
  after: StateName | null;
}

/** A.2: what the user's server does with a subscription stanza the user sends. */
export function outboundTransition(type: SubscriptionType, state: SubscriptionState): Transition {
  const before = stateName(state);
  const [goesOn, after] = OUTBOUND[type][before];
  return { goesOn, before, after };
}

/** A.3: what the contact's server does with a subscription stanza addressed to the contact. */
export function inboundTransition(type: SubscriptionType, state: SubscriptionState): Transition {
  const before = stateName(state);
  const [goesOn, after] = INBOUND[type][before];
  return { goesOn, before, after };
}

/** Does the contact receive the user's presence in this state? */
export function grantsFrom(name: StateName): boolean {
  return name === 'From' || name === 'From + Pending Out' || name === 'Both';
}
