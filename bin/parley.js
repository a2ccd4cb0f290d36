#!/usr/bin/env -S node --max-semi-space-size=32
// The `parley` command. The TypeScript sources are compiled to dist/ by `npm run build`
// (run automatically by `npm start` and `npm test`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/server/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error('parley: not built yet; run `npm run build` in the Parley folder first');
  process.exit(1);
}
const { runCli } = await import(main.href);
process.exitCode = await runCli(process.argv.slice(2));
