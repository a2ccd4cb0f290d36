import fs from 'node:fs';
import readline from 'node:readline';

/**
 * Where a new password comes from: --password-file FILE, --password-stdin (first line), or an
 * interactive prompt that does not echo. Never from the command line itself (visible in `ps`).
 */
export async function readPassword(opts: { file?: string; stdin?: boolean; prompt: string; confirm?: boolean }): Promise<string> {
  if (opts.file) return fs.readFileSync(opts.file, 'utf8').split(/\r?\n/)[0] ?? '';
  if (opts.stdin || !process.stdin.isTTY) return firstLineOfStdin();
  const first = await promptHidden(opts.prompt);
  if (opts.confirm === false) return first;
  const again = await promptHidden('Again: ');
  if (first !== again) throw new Error('the passwords do not match');
  return first;
}

async function firstLineOfStdin(): Promise<string> {
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) { rl.close(); return line; }
  return '';
}

function promptHidden(prompt: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = readline.createInterface({ input: process.stdin, output: process.stdout, terminal: true });
    const out = rl as unknown as { _writeToOutput: (s: string) => void };
    process.stdout.write(prompt);
    out._writeToOutput = () => undefined;
    rl.question('', (answer) => { rl.close(); process.stdout.write('\n'); resolve(answer); });
  });
}
