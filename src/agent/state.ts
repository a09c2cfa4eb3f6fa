// The agent's identity on disk: written atomically (temporary file, then rename) and readable by
// its owner only, because it holds the agent's secret.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface AgentState {
  master: string;
  agentId: string;
  secret: string;
  /** Whether a registration with this id and secret has been accepted. */
  registered: boolean;
  epoch?: number;
}

export interface StateFile {
  load(): Promise<AgentState | undefined>;
  /** Saves the state, or removes it when given undefined. */
  save(state: AgentState | undefined): Promise<void>;
}

export function stateFile(path: string): StateFile {
  return {
    async load() {
      try {
        return JSON.parse(await readFile(path, 'utf8')) as AgentState;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
    },
    async save(state) {
      if (!state) return rm(path, { force: true });
      await mkdir(dirname(path), { recursive: true });
      const tmp = `${path}.${process.pid}.tmp`;
      await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
      await rename(tmp, path);
    },
  };
}
