import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The compiled module API, for test-only third-party modules written as plain JavaScript. */
export const API_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'server', 'api', 'index.js');

/**
 * Write a third-party module (plain ES module source, `API` replaced by the API's path) into a new
 * folder and return that folder, for `config: { module_paths: [folder] }`.
 */
export function writeModule(name: string, source: string): string {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-modules-'));
  fs.mkdirSync(path.join(folder, name));
  fs.writeFileSync(path.join(folder, name, 'index.js'), source.replaceAll('API', JSON.stringify(API_PATH).slice(1, -1)));
  return folder;
}
