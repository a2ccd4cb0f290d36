import { NoSuchObjectError, type Entry } from 'ldapts';
import type { DirectoryConfig } from './config.js';
import type { DirectoryConnections } from './connection.js';
import { andFilter, equalityFilter, fillFilter } from './filter.js';
import type { Person, PersonMapper } from './people.js';

/** The page size for listing people and groups (below the usual server limits: slapd 500, AD 1000). */
const PAGE = 200;

/** The LDAP questions the module asks, as the service account. */
export class DirectoryLookups {
  readonly usersBase: string;
  readonly groupsBase: string;

  constructor(
    private readonly conn: DirectoryConnections,
    private readonly config: DirectoryConfig,
    private readonly mapper: PersonMapper,
  ) {
    this.usersBase = config.users.base_dn ?? config.base_dn;
    this.groupsBase = config.groups.base_dn ?? config.base_dn;
  }

  /** The entries a login name finds with users.filter ({user} escaped); at most two, to notice ambiguity. */
  findLogin(login: string): Promise<Entry[]> {
    return this.conn.search(this.usersBase, {
      scope: this.config.users.scope,
      filter: fillFilter(this.config.users.filter, { user: login }),
      attributes: this.mapper.attributes(false),
      explicitBufferAttributes: this.mapper.binaryAttributes(),
      sizeLimit: 2,
    });
  }

  /** One person's entry (with the photo when asked), or null when it is gone or no longer a person. */
  async readPerson(dn: string, withPhoto: boolean): Promise<Entry | null> {
    try {
      const entries = await this.conn.search(dn, {
        scope: 'base',
        filter: this.config.users.list_filter,
        attributes: this.mapper.attributes(withPhoto),
        explicitBufferAttributes: this.mapper.binaryAttributes(),
      });
      return entries[0] ?? null;
    } catch (err) {
      if (err instanceof NoSuchObjectError) return null;
      throw err;
    }
  }

  /** Every person (users.list_filter), page by page. */
  listPeople(): Promise<Entry[]> {
    return this.conn.search(this.usersBase, {
      scope: this.config.users.scope,
      filter: this.config.users.list_filter,
      attributes: this.mapper.attributes(false),
      explicitBufferAttributes: this.mapper.binaryAttributes(),
      paged: { pageSize: PAGE },
    });
  }

  /** Every group entry (groups.filter) with its name and members, for groups.source 'entries'. */
  listGroups(): Promise<Entry[]> {
    return this.conn.search(this.groupsBase, {
      scope: 'sub',
      filter: this.config.groups.filter,
      attributes: [this.config.groups.name_attribute, ...Object.keys(this.config.groups.member_attributes)],
      paged: { pageSize: PAGE },
    });
  }

  /** The group entries that list `person` as a member right now (login-time check of deprovision.required_group). */
  groupsWithMember(person: Person): Promise<Entry[]> {
    const alternatives = Object.entries(this.config.groups.member_attributes).flatMap(([attr, kind]) =>
      kind === 'dn' ? [equalityFilter(attr, person.dn)] : [equalityFilter(attr, person.rawLocal), equalityFilter(attr, person.local)]);
    return this.conn.search(this.groupsBase, {
      scope: 'sub',
      filter: andFilter(this.config.groups.filter, `(|${[...new Set(alternatives)].join('')})`),
      attributes: [this.config.groups.name_attribute],
    });
  }
}
