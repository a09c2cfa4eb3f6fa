// With the embedded LevelDB store, tokens left unset are generated on first start, kept in the data
// folder (readable by its owner only) and printed once, so `npm start` works with no setup.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config, Token } from './config.ts';
import type { Log } from './registrar.ts';
import { randomSecret } from './secrets.ts';

interface Saved {
  joinToken: string;
  operatorToken: string;
}

export async function localTokens(config: Config, folder: string, log: Log): Promise<{ join: Token[]; operator: Token[] }> {
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
    process.stdout.write(
      `\nGenerated tokens (kept in ${file}; shown only this once):\n` +
        `  join token:     ${saved.joinToken}\n  operator token: ${saved.operatorToken}\n\n`,
    );
  } else {
    log('using the tokens kept in the data folder', { file });
  }
  return {
    join: config.joinTokens ?? [{ label: 'join', token: saved.joinToken }],
    operator: config.operatorTokens ?? [{ label: 'operator', token: saved.operatorToken }],
  };
}
