// Starts the real sked binary for a browser test: a temporary store, the repository's job
// types (plus any the test adds), a free port on 127.0.0.1, and the admin password set.
//
//   const sked = await startSked();
//   await sked.api('POST', '/api/jobs', {title: 'x', task: 'reindex'});
//   await sked.stop();

import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, readdir, readFile, writeFile, rm, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SRC = process.env.SKED_SRC || resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const BIN = process.env.SKED_BIN || join(SRC, 'build', 'ui', 'sked');
export const ADMIN_PASSWORD = 'admin-password-1';
// A bootstrap token for checks through the API (what a run really received, and so on).
const TOKEN = 'ui-test-bootstrap-token-0123456789';
const TERMINAL = ['SUCCESS', 'PARTIAL_SUCCESS', 'FAILED', 'CANCELLED', 'WARNING'];

/** A job type that prints `lines` numbered lines, for the big-log test. */
export const FLOOD_TASK = {
  id: 'flood',
  title: 'Print many lines',
  description: 'Prints numbered lines, to show a big log.',
  command: ['awk', '-v', 'n={{lines}}', 'BEGIN { for (i = 1; i <= n; i++) printf "line %d of %d\\n", i, n }'],
  arguments: { type: 'object', properties: { lines: { type: 'integer', minimum: 1, default: 100000 } } },
};

/** A job type that prints the numbers 1 to `lines` (seq): many lines in a small log. */
export const SEQ_TASK = {
  id: 'seq',
  title: 'Count',
  description: 'Prints the numbers from 1, one a line.',
  command: ['seq', '1', '{{lines}}'],
  arguments: { type: 'object', properties: { lines: { type: 'integer', minimum: 1, default: 1000 } } },
};

/**
 * Copies tasks.d so the test can add job types: relative program paths and working folders
 * are made absolute, since they are relative to the task file's folder.
 */
async function tasksDir(tmp, extra) {
  const from = join(SRC, 'tasks.d');
  const to = join(tmp, 'tasks.d');
  await mkdir(to);
  for (const name of (await readdir(from)).filter((n) => n.endsWith('.json') && !n.startsWith('.'))) {
    const task = JSON.parse(await readFile(join(from, name), 'utf8'));
    if (Array.isArray(task.command) && task.command[0].includes('/') && !isAbsolute(task.command[0])) {
      task.command[0] = join(from, task.command[0]);
    }
    if (typeof task.working_dir === 'string' && !isAbsolute(task.working_dir)) task.working_dir = join(from, task.working_dir);
    await writeFile(join(to, name), JSON.stringify(task));
  }
  for (const t of extra) await writeFile(join(to, `${t.id}.json`), JSON.stringify(t));
  return to;
}

export async function startSked({ tasks = [], args = [] } = {}) {
  const tmp = await mkdtemp(join(tmpdir(), 'sked-ui-'));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SKED_')));
  env.SKED_ADMIN_PASSWORD = ADMIN_PASSWORD;
  env.SKED_ADMIN_TOKEN = TOKEN;
  const argv = ['serve', '--db', join(tmp, 'sked.db'), '--tasks', await tasksDir(tmp, tasks),
    '--listen', '127.0.0.1:0', '--stop-grace', '3s', ...args];
  // SKED_UI_WEB_DIR serves web/ from disk, to try UI changes without rebuilding.
  if (process.env.SKED_UI_WEB_DIR) argv.push('--web-dir', process.env.SKED_UI_WEB_DIR);
  const logFile = join(tmp, 'sked.stderr');
  let proc;
  const url = await serve(argv);

  // Starts sked with argv; resolves to the address it listens on once it does.
  async function serve(args) {
    proc = spawn(BIN, args, { cwd: tmp, env, stdio: ['ignore', 'ignore', 'pipe'] });
    return new Promise((ok, fail) => {
      let buf = '';
      const timer = setTimeout(() => fail(new Error(`sked did not start in 20 s:\n${buf}`)), 20000);
      proc.on('error', (e) => { clearTimeout(timer); fail(new Error(`cannot start ${BIN}: ${e.message}`)); });
      proc.on('exit', (code) => { clearTimeout(timer); fail(new Error(`sked exited with ${code}:\n${buf}`)); });
      proc.stderr.on('data', (chunk) => {
        buf += chunk;
        appendFile(logFile, chunk).catch(() => {});
        const m = /sked: listening on (http:\/\/\S+)/.exec(buf);
        if (m) {
          clearTimeout(timer);
          proc.removeAllListeners('exit');
          proc.stderr.removeAllListeners('data');
          proc.stderr.on('data', (chunk) => appendFile(logFile, chunk).catch(() => {}));
          ok(m[1]);
        }
      });
    });
  }

  async function api(method, path, body) {
    const res = await fetch(url + path, {
      method, headers: { Authorization: `Bearer ${TOKEN}` }, body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const data = text ? JSON.parse(text) : null;
    if (!res.ok) throw Object.assign(new Error(`${method} ${path}: ${res.status} ${text}`), { status: res.status, data });
    return data;
  }

  return {
    url,
    tmp,
    api,
    createJob: (job) => api('POST', '/api/jobs', job),
    /** Waits until the run has finished; returns it. */
    async waitRun(jobId, runId, timeoutMs = 30000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const r = await api('GET', `/api/jobs/${jobId}/runs/${runId}`);
        if (TERMINAL.includes(r.status)) return r;
        if (Date.now() > end) throw new Error(`run ${runId} still ${r.status} after ${timeoutMs} ms`);
        await new Promise((ok) => setTimeout(ok, 100));
      }
    },
    /** Kills sked at once (SIGKILL), as a crash would: the browser finds no server. */
    async kill() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const gone = new Promise((ok) => proc.once('exit', ok));
      proc.kill('SIGKILL');
      await gone;
    },
    /** Starts sked again after kill(), on the same store and address. */
    async restart() {
      const again = argv.map((a, i) => (argv[i - 1] === '--listen' ? new URL(url).host : a));
      await serve(again);
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const gone = new Promise((ok) => proc.once('exit', ok));
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 15000);
        await gone;
        clearTimeout(t);
      }
      if (!process.env.SKED_UI_KEEP) await rm(tmp, { recursive: true, force: true });
    },
  };
}
