// Starts a real `tollgate serve` on a free loopback port with an empty SQLite data directory,
// waits for /healthz, and hands back its base URL and the first owner's setup link (printed
// on stderr by the first start).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The server binary: $TOLLGATE_BIN, else target/debug/tollgate under the repository. */
export function tollgateBin() {
  return resolve(REPO_ROOT, process.env.TOLLGATE_BIN || join('target', 'debug', 'tollgate'));
}

/** A loopback port nobody listens on right now (bind port 0, read it, close). */
export function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.unref();
    s.on('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const SETUP_LINK = /(https?:\/\/\S+\/console\/setup\?token=[A-Za-z0-9_-]+)/;

/**
 * Starts Tollgate. `env` adds TOLLGATE_* settings for this test; `port` fixes the port (from
 * `freePort()`) when something must know the address before the server starts. Returns
 * `{ base, setupLink, output(), stop() }`; `output()` is what the server printed so far.
 */
export async function startTollgate({ env = {}, port: fixedPort, startupTimeoutMs = 30_000 } = {}) {
  const bin = tollgateBin();
  if (!existsSync(bin)) {
    throw new Error(`no Tollgate binary at ${bin}: build it (cargo build -p tollgate --bin tollgate) or set TOLLGATE_BIN`);
  }
  // Only our TOLLGATE_* settings: Tollgate refuses unknown ones, and a stray TOLLGATE_ISSUER
  // from the caller would change what is tested.
  const baseEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('TOLLGATE_')),
  );
  for (let attempt = 1; ; attempt++) {
    const port = fixedPort ?? (await freePort());
    const dataDir = await mkdtemp(join(tmpdir(), 'tollgate-console-'));
    const base = `http://127.0.0.1:${port}`;
    const child = spawn(bin, ['serve'], {
      env: {
        ...baseEnv,
        TOLLGATE_LISTEN: `127.0.0.1:${port}`,
        TOLLGATE_DATA_DIR: join(dataDir, 'data'),
        TOLLGATE_LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    let exited = null;
    const exit = new Promise((r) => child.once('exit', (code, signal) => r((exited = { code, signal }))));
    const output = () => `--- stdout ---\n${out}--- stderr ---\n${err}`;

    const stop = async () => {
      if (exited === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exit;
        clearTimeout(killer);
      }
      // Keep the server's output next to the screenshots when asked to.
      if (process.env.CONSOLE_TESTS_KEEP_DATA) {
        await writeFile(join(dataDir, 'server.log'), output());
      } else {
        await rm(dataDir, { recursive: true, force: true });
      }
    };

    const deadline = Date.now() + startupTimeoutMs;
    let healthy = false;
    while (Date.now() < deadline && exited === null) {
      try {
        const r = await fetch(`${base}/healthz`);
        if (r.status === 200) {
          healthy = true;
          break;
        }
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    if (!healthy) {
      const taken = exited !== null && /in use/i.test(err);
      await stop().catch(() => {});
      if (taken && !fixedPort && attempt < 3) continue; // someone took the port between freePort and bind
      throw new Error(
        exited === null
          ? `Tollgate did not answer ${base}/healthz within ${startupTimeoutMs} ms\n${output()}`
          : `Tollgate exited (${JSON.stringify(exited)}) before it was healthy\n${output()}`,
      );
    }
    // The setup link is printed before the server listens, so it is in stderr by now.
    const setupLink = SETUP_LINK.exec(err)?.[1] ?? null;
    return { base, setupLink, output, stop };
  }
}
