// Tokens generated for the LevelDB store: kept private, shown once, and only to a terminal.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';
import { localTokens } from './local-tokens.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function firstStart(isTerminal: boolean) {
  const folder = await mkdtemp(join(tmpdir(), 'registrar-tokens-'));
  dirs.push(folder);
  const printed: string[] = [];
  const logged: string[] = [];
  const tokens = await localTokens(loadConfig({}), folder, (message, fields) => void logged.push(`${message} ${JSON.stringify(fields)}`), {
    write: (text) => void printed.push(text),
    isTerminal,
  });
  const saved = JSON.parse(await readFile(join(folder, 'tokens.json'), 'utf8')) as { joinToken: string; operatorToken: string; frameworkToken: string };
  return { folder, tokens, printed: printed.join(''), logged: logged.join('\n'), saved };
}

describe('generated tokens', () => {
  it('are printed once to a terminal and kept readable by the owner only', async () => {
    const { folder, tokens, printed, saved } = await firstStart(true);
    expect(printed).toContain(saved.joinToken);
    expect(printed).toContain(saved.operatorToken);
    expect(printed).toContain(saved.frameworkToken);
    expect(tokens.join[0]?.token).toBe(saved.joinToken);
    expect(tokens.framework[0]?.token).toBe(saved.frameworkToken);
    expect((await stat(join(folder, 'tokens.json'))).mode & 0o777).toBe(0o600);
  });

  it('are never written to output that is not a terminal (it often ends in a log): only where they are kept', async () => {
    const { folder, printed, logged, saved } = await firstStart(false);
    expect(printed).toBe('');
    expect(logged).not.toContain(saved.joinToken);
    expect(logged).not.toContain(saved.operatorToken);
    expect(logged).not.toContain(saved.frameworkToken);
    expect(logged).toContain(join(folder, 'tokens.json'));
  });
});

describe('a data folder from before frameworks', () => {
  it('keeps its join and operator tokens and gets a framework token, printed once', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'registrar-tokens-'));
    dirs.push(folder);
    const old = { joinToken: 'join-token-0123456789', operatorToken: 'operator-token-0123456789' };
    await writeFile(join(folder, 'tokens.json'), JSON.stringify(old), { mode: 0o600 });
    const printed: string[] = [];
    const out = { write: (text: string) => void printed.push(text), isTerminal: true };
    const tokens = await localTokens(loadConfig({}), folder, () => {}, out);
    const saved = JSON.parse(await readFile(join(folder, 'tokens.json'), 'utf8'));
    expect(saved).toMatchObject(old);
    expect(tokens.join[0]?.token).toBe(old.joinToken);
    expect(tokens.framework[0]?.token).toBe(saved.frameworkToken);
    expect(printed.join('')).toContain(saved.frameworkToken);
    expect(printed.join('')).not.toContain(old.joinToken);
    printed.length = 0;
    expect((await localTokens(loadConfig({}), folder, () => {}, out)).framework[0]?.token).toBe(saved.frameworkToken);
    expect(printed).toEqual([]);
  });
});
