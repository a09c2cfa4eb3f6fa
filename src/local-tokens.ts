// With the embedded LevelDB store, tokens left unset are generated on first start, kept in the data
// folder (readable by its owner only) and printed once to a terminal, so `npm start` works with no
// setup. Output that is not a terminal often ends in a log, so there only the file is named.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config, Token } from './config.ts';
import type { Log } from './registrar.ts';
import { randomSecret } from './secrets.ts';

interface Saved {
  joinToken: string;
  operatorToken: string;
}

/** Where the generated tokens are shown: the process's stdout, and whether it is a terminal. */
export interface TokenOutput {
  write(text: string): void;
  isTerminal: boolean;
}

const stdout: TokenOutput = { write: (text) => void process.stdout.write(text), isTerminal: process.stdout.isTTY === true };

export async function localTokens(config: Config, folder: string, log: Log, out: TokenOutput = stdout): Promise<{ join: Token[]; operator: Token[] }> {
  if (config.joinTokens && config.operatorTokens) return { join: config.joinTokens, operator: config.operatorTokens };
  const file = join(folder, 'tokens.json');
  let saved: Saved | undefined;
  try {
    saved = JSON.parse(await readFile(file, 'utf8')) as Saved;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
  if (!saved) {
    saved = { joinToken: randomSecret(), operatorToken: randomSecret() };
    await mkdir(folder, { recursive: true });
    await writeFile(file, `${JSON.stringify(saved, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    if (out.isTerminal) {
      out.write(
        `\nGenerated tokens (kept in ${file}; shown only this once):\n` +
          `  join token:     ${saved.joinToken}\n  operator token: ${saved.operatorToken}\n\n`,
      );
    } else {
      log('generated a join token and an operator token; not printed, since the output is no terminal', { file });
    }
  } else {
    log('using the tokens kept in the data folder', { file });
  }
  return {
    join: config.joinTokens ?? [{ label: 'join', token: saved.joinToken }],
    operator: config.operatorTokens ?? [{ label: 'operator', token: saved.operatorToken }],
  };
}
