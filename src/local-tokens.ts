// With the embedded LevelDB store, tokens left unset are generated on first start, kept in the data
// folder (readable by its owner only) and printed once to a terminal, so `npm start` works with no
// setup. Output that is not a terminal often ends in a log, so there only the file is named. A data
// folder from before frameworks gets its framework token on its next start, shown the same way.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config, Token } from './config.ts';
import type { Log } from './registrar.ts';
import { randomSecret } from './secrets.ts';

interface Saved {
  joinToken: string;
  operatorToken: string;
  frameworkToken?: string;
}

/** Where the generated tokens are shown: the process's stdout, and whether it is a terminal. */
export interface TokenOutput {
  write(text: string): void;
  isTerminal: boolean;
}

const stdout: TokenOutput = { write: (text) => void process.stdout.write(text), isTerminal: process.stdout.isTTY === true };

export async function localTokens(config: Config, folder: string, log: Log, out: TokenOutput = stdout): Promise<{ join: Token[]; operator: Token[]; framework: Token[] }> {
  if (config.joinTokens && config.operatorTokens && config.frameworkTokens) {
    return { join: config.joinTokens, operator: config.operatorTokens, framework: config.frameworkTokens };
  }
  const file = join(folder, 'tokens.json');
  let saved: Saved | undefined;
  try {
    saved = JSON.parse(await readFile(file, 'utf8')) as Saved;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
  const generated: [string, string][] = [];
  if (!saved) {
    saved = { joinToken: randomSecret(), operatorToken: randomSecret(), frameworkToken: randomSecret() };
    await mkdir(folder, { recursive: true });
    await writeFile(file, `${JSON.stringify(saved, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    generated.push(['join token:     ', saved.joinToken], ['operator token: ', saved.operatorToken], ['framework token:', saved.frameworkToken!]);
  } else if (!saved.frameworkToken) {
    saved = { ...saved, frameworkToken: randomSecret() };
    await writeFile(file, `${JSON.stringify(saved, null, 2)}\n`, { mode: 0o600 });
    generated.push(['framework token:', saved.frameworkToken!]);
  }
  if (generated.length === 0) {
    log('using the tokens kept in the data folder', { file });
  } else if (out.isTerminal) {
    out.write(`\nGenerated tokens (kept in ${file}; shown only this once):\n${generated.map(([name, token]) => `  ${name} ${token}\n`).join('')}\n`);
  } else {
    log(`generated ${generated.length === 1 ? 'a framework token' : 'a join token, an operator token and a framework token'}; not printed, since the output is no terminal`, { file });
  }
  return {
    join: config.joinTokens ?? [{ label: 'join', token: saved.joinToken }],
    operator: config.operatorTokens ?? [{ label: 'operator', token: saved.operatorToken }],
    framework: config.frameworkTokens ?? [{ label: 'framework', token: saved.frameworkToken! }],
  };
}
