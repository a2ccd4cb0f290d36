/**
 * Starts Parley from the same build as the benchmark (what `bin/parley.js` does for dist/), so
 * that `node --cpu-prof dist/bench/parley-launcher.js start --config <file>` profiles the server
 * the benchmark measures.
 */
import { runCli } from '../server/cli/main.js';

process.exitCode = await runCli(process.argv.slice(2));
