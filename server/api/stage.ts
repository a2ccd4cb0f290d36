/**
 * Named stages order the hooks of one pipeline point. Within a stage, hooks run in module load
 * order (which follows dependencies). See DESIGN.md "Hooks: stages and verdicts, not priorities".
 */
export enum Stage {
  /** Limits, blocking, rights: may refuse before anything else looks at the stanza. */
  GUARD = 0,
  /** Content rules, file-transfer rules, partner scoping. */
  POLICY = 1,
  /** The feature itself (delivery, roster, ...). The default stage. */
  HANDLE = 2,
  /** What happens when no feature took the stanza: offline storage, last-resort answers. */
  FALLBACK = 3,
}
