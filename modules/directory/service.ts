import type { Jid } from '../../server/api/index.js';

/** A person of the company directory as other modules see them (policy, archive access, partners). */
export interface DirectoryPerson {
  /** The person's bare JID on the domain asked about. */
  readonly jid: string;
  readonly dn: string;
  readonly name: string;
  readonly givenName: string | null;
  readonly familyName: string | null;
  readonly email: string | null;
  readonly title: string | null;
  readonly department: string | null;
  readonly organization: string | null;
  readonly phones: readonly string[];
  /** The manager's bare JID (same domain), or null when there is none or the manager has no account. */
  readonly manager: string | null;
  /** Names of every directory group the person is in (not only the shared ones). */
  readonly groups: readonly string[];
}

/** What one synchronisation did. */
export interface SyncReport {
  /** False when the directory could not be read; nothing was changed then. */
  readonly ok: boolean;
  readonly at: Date;
  readonly durationMs: number;
  /** Person entries read, and how many of them may use the server. */
  readonly people: number;
  readonly active: number;
  readonly groups: number;
  /** Localparts deprovisioned by this sync, with the reason. */
  readonly retired: readonly { local: string; reason: string }[];
  /** Localparts given back to the same entry (re-enabled people). */
  readonly reactivated: readonly string[];
  /** Localparts a new entry asked for while they are retired for someone else (waiting for release). */
  readonly refused: readonly string[];
  /** Why the sync failed or retired nobody although it should have (safety limit). */
  readonly error?: string;
}

/** An address kept for a deprovisioned person. */
export interface RetiredAddress {
  readonly local: string;
  readonly dn: string;
  readonly reason: string;
  readonly retiredAt: Date;
}

/**
 * The `directory` service, provided by the directory module: who is who in the company, from the
 * last sync (answers come from memory, never from a directory round trip). JIDs may be given as
 * Jid or string; a JID on a domain the directory does not serve is nobody.
 */
export interface DirectoryService {
  /** Whether the bare JID is a directory person who may use the server now. */
  isEmployee(bare: Jid | string): boolean;
  person(bare: Jid | string): DirectoryPerson | undefined;
  /** Names of the person's directory groups (empty for non-directory accounts). */
  groupsOf(bare: Jid | string): readonly string[];
  /** Whether the person is in the group (its name, case-insensitive, or its DN). */
  isInGroup(bare: Jid | string, group: string): boolean;
  /** Bare JIDs of a group's members who may use the server, on `domain` (default: the first served domain). */
  membersOf(group: string, domain?: string): string[];
  /** The manager's bare JID, if the manager has an account. */
  managerOf(bare: Jid | string): string | undefined;
  /** Bare JIDs of the people whose manager this is. */
  reportsOf(bare: Jid | string): string[];

  /**
   * Synchronise now (also what `parley directory sync` runs): read people and groups, update shared
   * rosters, deprovision who is gone or disabled (their sessions end with not-authorized). Runs one at
   * a time; a call during a sync waits for it and then runs again.
   */
  sync(): Promise<SyncReport>;
  /** The last sync's report, or null before the first. */
  lastSync(): SyncReport | null;
  /** Addresses kept for deprovisioned people. */
  retiredAddresses(): RetiredAddress[];
  /**
   * An administrator releases a retired address (a localpart or bare JID) so that a new directory
   * entry may take it at the next sync. Returns false when it was not retired.
   */
  release(address: string): boolean;
}

declare module '../../server/api/index.js' {
  interface ParleyServices {
    directory: DirectoryService;
  }
  interface ParleyEvents {
    /** A directory sync finished (successfully or not); modules that cache directory answers refresh here. */
    'directory/synced': { report: SyncReport };
  }
}
