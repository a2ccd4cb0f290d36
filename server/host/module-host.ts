import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type {
  AccountProvider, AccountsApi, HttpRequestHandler, ModuleContext, ModuleDefinition, ParleyServices, RouterApi,
  SessionDirectory,
} from '../api/context.js';
import { Stage } from '../api/stage.js';
import { validateSection } from '../config/errors.js';
import { applyMigrations, openDatabaseFile } from '../storage/database.js';
import { openKeyValueStore } from '../storage/key-value.js';
import type { StreamExtensions } from '../stream/features.js';
import type { DiscoCollection } from './disco.js';
import type { EventBus } from './events.js';
import type { HookRegistry } from './hooks.js';
import type { IqTable } from './iq-table.js';
import type { HttpRoutes } from './http-routes.js';

export interface HostDeps {
  log: Logger;
  configFile: string | null;
  db: Database.Database;
  schemaRoot: string;
  /** Folders to look for modules in, in order: the built-in modules folder first, then module_paths. */
  moduleDirs: string[];
  hooks: HookRegistry;
  events: EventBus;
  iq: IqTable;
  disco: DiscoCollection;
  router: RouterApi;
  sessions: SessionDirectory;
  accounts: AccountsApi;
  addAccountProvider(p: AccountProvider): () => void;
  extensions: StreamExtensions;
  http: HttpRoutes;
  server: { name: string; version: string; startedAt: number };
  /** The data folder (absolute), where module databases of their own are kept. */
  dataDir: string;
  /** Services the core itself provides to modules. */
  coreServices: Partial<ParleyServices>;
}

interface LoadedModule { def: ModuleDefinition; undo: (() => void)[] }

/**
 * Loads modules by name (from config), in an order that puts service providers before their
 * users, validates each one's config section, applies its migrations, and gives it a context
 * whose every registration is recorded so unload() undoes it.
 */
export class ModuleHost {
  private readonly loaded: LoadedModule[] = [];
  private readonly services = new Map<string, { impl: unknown; module: string }>();

  constructor(private readonly d: HostDeps) {
    for (const [name, impl] of Object.entries(d.coreServices)) this.services.set(name, { impl, module: 'core' });
  }

  get moduleNames(): string[] { return this.loaded.map((m) => m.def.name); }

  /** A service by name, for core tools (the CLI) that drive a module; undefined when none provides it. */
  service(name: string): unknown {
    return this.services.get(name)?.impl;
  }

  /** Import the definitions of the configured modules (no setup yet). */
  async resolve(names: string[]): Promise<ModuleDefinition[]> {
    const defs: ModuleDefinition[] = [];
    for (const name of names) defs.push(await this.importModule(name));
    return orderByServices(defs, Object.keys(this.d.coreServices));
  }

  /** Where a module's migrations are: schema/<name>/ for built-in modules, <folder>/<name>/schema/ for third-party ones. */
  private readonly migrationDirs = new Map<string, string>();

  private async importModule(name: string): Promise<ModuleDefinition> {
    for (const [i, dir] of this.d.moduleDirs.entries()) {
      const file = path.join(dir, name, 'index.js');
      if (!fs.existsSync(file)) continue;
      const mod = (await import(pathToFileURL(file).href)) as { default?: ModuleDefinition };
      const def = mod.default;
      if (!def || typeof def.setup !== 'function' || def.name !== name) {
        throw new Error(`${file}: expected a default export from defineModule({ name: '${name}', setup })`);
      }
      this.migrationDirs.set(name, i === 0 ? path.join(this.d.schemaRoot, name) : path.join(dir, name, 'schema'));
      return def;
    }
    throw new Error(`${this.d.configFile ?? '(defaults)'}: modules.${name}: no module named "${name}" in ${this.d.moduleDirs.join(', ')}`);
  }

  /** Validate every module's config section before any setup runs: a bad value stops start-up. */
  validateConfigs(defs: ModuleDefinition[], sections: Record<string, unknown>): Map<string, unknown> {
    const out = new Map<string, unknown>();
    for (const def of defs) {
      const raw = sections[def.name] ?? {};
      out.set(def.name, def.config ? validateSection(this.d.configFile, ['modules', def.name], def.config, raw) : Object.freeze({}));
    }
    return out;
  }

  async load(def: ModuleDefinition, config: unknown): Promise<void> {
    applyMigrations(this.d.db, this.migrationDirs.get(def.name) ?? path.join(this.d.schemaRoot, def.name), def.name);
    const entry: LoadedModule = { def, undo: [] };
    const ctx = this.context(def, config as z.output<z.ZodType>, entry.undo);
    this.loaded.push(entry);
    try {
      await def.setup(ctx);
    } catch (err) {
      this.unloadOne(entry);
      this.loaded.pop();
      throw new Error(`module ${def.name} failed to start: ${(err as Error).message}`, { cause: err });
    }
    this.d.log.debug({ module: def.name }, 'module loaded');
  }

  /** Undo every module's registrations, last loaded first. */
  unloadAll(): void {
    while (this.loaded.length > 0) this.unloadOne(this.loaded.pop()!);
  }

  private unloadOne(entry: LoadedModule): void {
    for (const fn of entry.undo.reverse()) {
      try { fn(); } catch (err) { this.d.log.error({ module: entry.def.name, err }, 'unload step failed'); }
    }
    entry.undo.length = 0;
  }

  private context(def: ModuleDefinition, config: unknown, undo: (() => void)[]): ModuleContext {
    const d = this.d;
    const name = def.name;
    const log = d.log.child({ module: name });
    const services = this.services;
    const record = (fn: () => void) => { undo.push(fn); };
    return {
      name,
      config,
      log,
      accounts: d.accounts,
      server: d.server,
      hooks: {
        on: (hook, fn, opts) => record(d.hooks.add(hook, fn, opts?.stage ?? Stage.HANDLE, name)),
      },
      events: {
        on: (event, fn, opts) => record(d.events.on(event, fn, name, opts?.failClosed ?? false)),
        emit: (event, payload) => d.events.emit(event, payload),
      },
      iq: {
        handle: (key, fn) => record(d.iq.add(key, fn, name)),
      },
      disco: d.disco.forModule(record),
      router: d.router,
      sessions: d.sessions,
      storage: {
        db: d.db,
        keyValue: <T>(store: string) => openKeyValueStore<T>(d.db, name, store),
        open: (file: string, schema: string) => {
          const db = openDatabaseFile(path.resolve(d.dataDir, file));
          record(() => { if (db.open) db.close(); });
          applyMigrations(db, path.join(this.migrationDirs.get(name) ?? path.join(d.schemaRoot, name), schema), `${name}/${schema}`);
          return db;
        },
        dataDir: d.dataDir,
      },
      services: {
        provide: (service, impl) => {
          const existing = services.get(service as string);
          if (existing) throw new Error(`service "${String(service)}" is already provided by module ${existing.module}`);
          services.set(service as string, { impl, module: name });
          record(() => services.delete(service as string));
        },
        use: <K extends keyof ParleyServices>(service: K) => {
          const s = services.get(service as string);
          if (!s) throw new Error(`module ${name} needs the "${String(service)}" service, but no loaded module provides it`);
          return s.impl as ParleyServices[K];
        },
        find: <K extends keyof ParleyServices>(service: K) => services.get(service as string)?.impl as ParleyServices[K] | undefined,
      },
      auth: {
        addProvider: (p) => record(d.addAccountProvider(p)),
      },
      stream: {
        addFeature: (el) => record(d.extensions.addFeature(el)),
        handle: (xmlns, elName, fn) => record(d.extensions.handle(xmlns, elName, fn, name)),
      },
      timers: {
        every: (ms, fn) => timer(setInterval(() => runTimer(fn), ms), clearInterval),
        after: (ms, fn) => timer(setTimeout(() => runTimer(fn), ms), clearTimeout),
      },
      http: {
        route: (method: string, p: string, handler: HttpRequestHandler) => record(d.http.add(method, p, handler, name)),
      },
      onUnload: (fn) => record(fn),
    };

    function runTimer(fn: () => void | Promise<void>): void {
      try {
        const r = fn();
        if (r instanceof Promise) r.catch((err) => log.error({ err }, 'timer failed'));
      } catch (err) {
        log.error({ err }, 'timer failed');
      }
    }
    function timer(handle: NodeJS.Timeout, clear: (h: NodeJS.Timeout) => void) {
      handle.unref();
      let cancelled = false;
      const cancel = () => { if (!cancelled) { cancelled = true; clear(handle); } };
      record(cancel);
      return { cancel };
    }
  }
}

/**
 * Providers of a service load before the modules that require it, and before those that use it
 * when it is there (`uses`); otherwise config order is kept.
 */
export function orderByServices(defs: ModuleDefinition[], coreServices: readonly string[] = []): ModuleDefinition[] {
  const provider = new Map<string, ModuleDefinition>();
  for (const def of defs) for (const s of def.provides ?? []) provider.set(s as string, def);
  const out: ModuleDefinition[] = [];
  const state = new Map<ModuleDefinition, 'visiting' | 'done'>();
  const visit = (def: ModuleDefinition, chain: string[]) => {
    const st = state.get(def);
    if (st === 'done') return;
    if (st === 'visiting') throw new Error(`modules depend on each other in a circle: ${[...chain, def.name].join(' -> ')}`);
    state.set(def, 'visiting');
    for (const s of def.requires ?? []) {
      if (coreServices.includes(s as string)) continue;
      const p = provider.get(s as string);
      if (!p) throw new Error(`module ${def.name} requires the "${String(s)}" service, but no configured module provides it`);
      if (p !== def) visit(p, [...chain, def.name]);
    }
    for (const s of def.uses ?? []) {
      const p = provider.get(s as string);
      if (p && p !== def) visit(p, [...chain, def.name]);
    }
    state.set(def, 'done');
    out.push(def);
  };
  for (const def of defs) visit(def, []);
  return out;
}
