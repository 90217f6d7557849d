// The web console end to end, as a person uses it: a real `ferry serve` over a fresh SQLite
// store, Debian's Chromium driven by playwright-core (test/node), and a demo migration run from
// start to finish through the page: sign in, start the run, watch it to its approval gate,
// approve it, watch it complete, then the verification, plan and event-log pages. A screenshot
// of each page is saved in OUT_DIR (printed at the end).
//
//   node test/browser/console_test.mjs FERRY_BINARY OUT_DIR
//
// Exit 0 passed, 1 failed, 77 skipped (Node.js older than 18, playwright-core not installed in
// test/node, no Chromium): the reason is printed. FERRY_CHROMIUM names another Chromium binary;
// FERRY_CONSOLE_TEST_ROWS the demo bank's transactions (default 600000: a copy of a few seconds,
// long enough to watch its progress).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SKIP = 77;
const here = dirname(fileURLToPath(import.meta.url));
const [ferryArg, outArg] = process.argv.slice(2);
if (!ferryArg || !outArg) {
  console.error('usage: node console_test.mjs FERRY_BINARY OUT_DIR');
  process.exit(2);
}
const ferry = resolve(ferryArg);
const out = resolve(outArg);
const rows = Number(process.env.FERRY_CONSOLE_TEST_ROWS ?? 600000);

function skip(reason) {
  console.log(`console_browser_test: SKIPPED: ${reason}`);
  process.exit(SKIP);
}

// ---- What the test needs, or a clear skip.
const major = Number(process.versions.node.split('.')[0]);
if (major < 18) skip(`Node.js ${process.versions.node} is older than 18, which playwright-core needs`);
const playwrightPath = join(here, '../node/node_modules/playwright-core/index.mjs');
if (!existsSync(playwrightPath)) {
  skip('playwright-core is not installed in test/node: run ./setup.sh test (it runs npm ci --prefix test/node)');
}
const chromiumPath = [process.env.FERRY_CHROMIUM, '/usr/lib/chromium/chromium', '/usr/bin/chromium']
  .find((p) => p && existsSync(p));
if (!chromiumPath) {
  skip('no Chromium: install Debian\'s chromium (scripts/debian-packages.txt), or set FERRY_CHROMIUM');
}
if (!existsSync(ferry)) {
  console.error(`console_browser_test: no ferry binary at ${ferry}`);
  process.exit(1);
}
const serveHelp = spawnSync(ferry, ['serve', '--help'], { encoding: 'utf8' });
if (!/--listen/.test(serveHelp.stdout)) {
  skip('this ferry has no `serve` command: the HTTP server (src/server) is not built');
}
const { chromium } = await import(pathToFileURL(playwrightPath));
// axe-core (test/node): the accessibility rules of WCAG 2.1 A and AA, run on every page.
const axeSource = readFileSync(join(here, '../node/node_modules/axe-core/axe.min.js'), 'utf8');

// ---- A fresh directory with the store, the demo databases and the inputs.
rmSync(out, { recursive: true, force: true });
const work = join(out, 'work');
const shots = join(out, 'screenshots');
mkdirSync(work, { recursive: true });
mkdirSync(shots, { recursive: true });
const store = `sqlite://${join(work, 'ferry.db')}`;

function run(args, { input, allowFail = false } = {}) {
  const r = spawnSync(ferry, args, { cwd: work, input, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0 && !allowFail) {
    throw new Error(`ferry ${args.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  }
  return r;
}

function step(text) {
  console.log(`console_browser_test: ${text}`);
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

// An API key: `ferry api-key create` shows it once.
function apiKey(name, role) {
  const r = run(['--store', store, 'api-key', 'create', name, '--role', role]);
  const key = (r.stdout + r.stderr).match(/fry_[A-Za-z0-9_-]+/);
  check(key, `ferry api-key create printed no key:\n${r.stdout}${r.stderr}`);
  return key[0];
}

async function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

async function waitForReady(base, child, log) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`ferry serve exited ${child.exitCode}:\n${log()}`);
    try {
      const r = await fetch(`${base}/health/ready`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`ferry serve was not ready within 30 s:\n${log()}`);
}

// The strict policy the console is written for (no inline script, no inline style), applied
// to the console's own files whatever the server sends, so that a violation shows here.
const STRICT_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

let server = null;
let browser = null;
let closing = false;  // set before the browser closes: requests still in flight are dropped
let page = null;
let serverLog = '';
const problems = [];

try {
  step(`ferry ${run(['--version']).stdout.trim()}; Chromium at ${chromiumPath}; output in ${out}`);

  // The demo source: the bank of `ferry demo` (in its own store: only its database is used).
  const demoDir = join(work, 'demo');
  const demo = run(['--store', `sqlite://${join(work, 'demo-store.db')}`, 'demo', '--rows', String(rows), '--dir', demoDir]);
  // "15000 customers, 30000 accounts, 7500 loans, 300000 transactions": the rows to copy.
  const made = (demo.stdout + demo.stderr).match(/(\d+) customers, (\d+) accounts, (\d+) loans, (\d+) transactions/);
  check(made, `ferry demo did not say what it made:\n${demo.stdout}${demo.stderr}`);
  const expectedRows = made.slice(1, 5).map(Number).reduce((a, b) => a + b, 0);
  const source = `sqlite://${join(demoDir, 'bank.db')}`;
  const target = `sqlite://${join(work, 'target.db')}`;
  const spec = `run: console-demo
phases:
  - name: preflight
    tasks:
      - {id: source-reachable, type: check.connect, with: {url: "${source}"}}
  - name: replicate
    tasks:
      - id: copy-bank
        type: copy
        with: {from: "${source}", to: "${target}"}
        depends_on: [source-reachable]
      - id: verify-bank
        type: verify
        with: {from: "${source}", to: "${target}"}
        depends_on: [copy-bank]
  - name: cutover
    approval: operator
    tasks:
      - {id: smoke-target, type: smoke.sql, with: {url: "${target}", sql: "SELECT count(*) FROM transactions"}}
`;
  writeFileSync(join(work, 'run.yaml'), spec);
  run(['run', 'validate', join(work, 'run.yaml')]);

  // Inventories for the store's plan: several servers of an Azure Migrate export, and a plan
  // file of an estate with dependencies (the wave graph), opened from disk in the page.
  writeFileSync(join(work, 'servers.csv'), [
    'Server name,Cores,Memory (In MB),OS name,IP addresses,Storage (GB),CPU utilization percentage,Memory utilization percentage',
    'prd-web-01,4,16384,Ubuntu 20.04,10.0.1.5,100,35,60',
    'prd-web-02,4,16384,Ubuntu 20.04,10.0.1.6,100,30,55',
    'prd-db-01,16,131072,Red Hat Enterprise Linux 8,10.0.4.11,2000,45,80',
    'dev-app-01,2,8192,Debian 12,10.1.2.7,60,10,30',
    'prd-dns-01,2,4096,CentOS 7,10.0.5.1,40,5,20',
  ].join('\n') + '\n');
  run(['--store', store, 'discover', 'import', '--from', 'azure-migrate', join(work, 'servers.csv'), '--save']);
  writeFileSync(join(work, 'estate.txt'), readFileSync(join(here, 'estate.txt'), 'utf8'));
  run(['plan', '--inventory', join(work, 'estate.txt'), '--date', '2026-12-07', '--max-wave-size', '3',
    '--out', join(work, 'plan.json')]);

  const operatorKey = apiKey('console-test', 'operator');
  const viewerKey = apiKey('console-viewer', 'viewer');

  // ---- The server.
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  server = spawn(ferry, ['--store', store, 'serve', '--listen', `127.0.0.1:${port}`], { cwd: work });
  server.stdout.on('data', (d) => { serverLog += d; });
  server.stderr.on('data', (d) => { serverLog += d; });
  await waitForReady(base, server, () => serverLog);
  step(`ferry serve on ${base}`);

  browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox'] });
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  await context.route((url) => !url.pathname.startsWith('/api/') && !url.pathname.startsWith('/health'), async (route) => {
    try {
      const response = await route.fetch();
      await route.fulfill({ response, headers: { ...response.headers(), 'content-security-policy': STRICT_CSP } });
    } catch (error) {
      if (closing) return;
      problems.push(`fetching ${route.request().url()}: ${error.message}`);
      await route.abort().catch(() => {});
    }
  });
  page = await context.newPage();
  page.setDefaultTimeout(30_000);
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  // A screenshot of the page, and its accessibility audit: a serious or critical violation
  // fails the test, the others are listed.
  const shot = async (name) => {
    const file = join(shots, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    step(`screenshot ${file}`);
    await page.evaluate(`${axeSource};0`);  // evaluation is not subject to the page's CSP
    const audit = await page.evaluate(() => globalThis.axe.run(document, {
      runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'],
    }));
    for (const v of audit.violations) {
      const where = v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ');
      const line = `${name}: accessibility ${v.impact}: ${v.id}: ${v.help} (${where})`;
      if (v.impact === 'serious' || v.impact === 'critical') problems.push(line);
      else step(line);
    }
  };

  // The plan page's two charts have drawn: each canvas holds pixels of several colours.
  const chartsDrawn = async () => {
    await page.waitForFunction(() => {
      const canvases = [...document.querySelectorAll('.chart canvas')];
      return canvases.length === 2 && canvases.every((c) => {
        if (c.width === 0 || c.height === 0) return false;
        const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const colours = new Set();
        for (let i = 0; i < data.length && colours.size < 4; i += 4 * 97) colours.add(`${data[i]},${data[i + 1]},${data[i + 2]},${data[i + 3]}`);
        return colours.size >= 3;
      });
    }, null, { timeout: 15_000 });
  };

  // ---- Sign in.
  await page.goto(`${base}/`);
  await page.getByRole('heading', { name: 'Sign in to ferry' }).waitFor();
  await page.getByLabel('API key').fill('fry_not_a_real_key');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('.error-box').waitFor();
  await shot('01-login-refused');
  await page.getByLabel('API key').fill(operatorKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Runs' }).waitFor();
  await page.locator('.who-name').waitFor();
  check((await page.locator('.who').innerText()).includes('operator'), 'the header does not show the operator role');
  check(await page.evaluate(() => sessionStorage.getItem('ferry.session') !== null), 'no session token in sessionStorage');

  // ---- A bad spec: its error is shown, as text (what the API sends is never HTML).
  await page.getByLabel('Run spec (YAML)').fill('run: x\nphases:\n  - name: a\n    tasks:\n      - {id: t, type: "<img id=injected src=x>", with: {}}\n');
  await page.getByRole('button', { name: 'Start the run' }).click();
  await page.locator('.error-box').waitFor();
  const badSpec = await page.locator('.error-box').innerText();
  check(/unknown task type/.test(badSpec) && badSpec.includes('<img id=injected'), `the bad spec's error is not shown as text: ${badSpec}`);
  check(await page.locator('#injected').count() === 0, 'text from the API was rendered as HTML');

  // ---- Start the demo run.
  await page.getByLabel('Run spec (YAML)').fill(spec);
  await page.getByRole('button', { name: 'Start the run' }).click();
  await page.waitForURL(/#\/runs\/[^/]+$/);
  const runId = decodeURIComponent(page.url().split('#/runs/')[1]);
  step(`run ${runId} started from the page`);

  // Live progress: record the copy task's progress bar as it moves (the stream drives it).
  await page.evaluate(() => {
    window.__progressSeen = [];
    window.__bytesSeen = [];
    const observer = new MutationObserver(() => {
      for (const p of document.querySelectorAll('progress[aria-label^="copy-bank"]')) {
        const v = Number(p.value);
        if (v > 0 && v < 1 && !window.__progressSeen.includes(v)) {
          window.__progressSeen.push(v);
          // The bytes cell of the same row, part-way: "1.52 MiB / 9.8 MiB".
          const bytes = p.closest('tr')?.querySelectorAll('td')[3]?.textContent ?? '';
          if (/^[0-9.]+ (B|KiB|MiB|GiB) \/ [0-9.]+ (B|KiB|MiB|GiB)$/.test(bytes.trim())) window.__bytesSeen.push(bytes.trim());
        }
      }
    });
    observer.observe(document.body, { subtree: true, childList: true, attributes: true });
  });
  await page.getByRole('heading', { level: 2, name: 'Phases' }).waitFor();
  await page.locator('.stream', { hasText: 'live' }).waitFor();
  // The copy part-way: its progress bar, rows, rate and ETA as the run's events bring them.
  await page.waitForFunction(() => window.__progressSeen.length > 0, null, { timeout: 120_000 });
  await shot('03-run-copying');
  await page.locator('.approval').waitFor({ timeout: 180_000 });
  const progressSeen = await page.evaluate(() => window.__progressSeen);
  const bytesSeen = await page.evaluate(() => window.__bytesSeen);
  step(`at the approval gate; copy progress seen live: ${progressSeen.map((v) => `${Math.round(v * 100)}%`).join(', ')}; bytes: ${bytesSeen.join(', ')}`);
  check(bytesSeen.length > 0, 'the copy showed no bytes moved (of an estimated total) while it ran');
  const approvalText = await page.locator('.approval').innerText();
  check(approvalText.includes('cutover') && approvalText.includes('operator'), `the approval banner does not name the phase and role: ${approvalText}`);
  const copyRow = page.locator('tr', { has: page.locator('.task-id', { hasText: /^copy-bank$/ }) });
  check((await copyRow.innerText()).includes('done'), 'copy-bank is not done at the gate');
  check(await page.getByRole('button', { name: 'Pause' }).count() === 1, 'an operator sees no Pause button');
  await shot('04-run-awaiting-approval');

  // A viewer sees the run, and neither the approval nor the controls.
  const viewer = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  const viewerPage = await viewer.newPage();
  await viewerPage.goto(`${base}/`);
  await viewerPage.getByLabel('API key').fill(viewerKey);
  await viewerPage.getByRole('button', { name: 'Sign in' }).click();
  await viewerPage.getByRole('heading', { name: 'Runs' }).waitFor();
  check(await viewerPage.getByRole('button', { name: 'Start the run' }).count() === 0, 'a viewer is offered to start runs');
  await viewerPage.goto(`${base}/#/runs/${encodeURIComponent(runId)}`);
  await viewerPage.locator('.approval').waitFor();
  check((await viewerPage.locator('.approval').innerText()).includes('cannot approve'), 'a viewer is offered the approval');
  check(await viewerPage.getByRole('group', { name: 'Run controls' }).count() === 0, 'a viewer sees the run controls');
  await viewer.close();

  // ---- Pause at the gate, resume, then approve, and watch it complete.
  const runBadge = (state) => page.locator('.title-row .badge', { hasText: new RegExp(`^${state}$`) });
  await page.getByRole('button', { name: 'Pause' }).click();
  await runBadge('paused').waitFor();
  check(await page.getByRole('button', { name: 'Approve cutover' }).count() === 0, 'a paused run offers its approval');
  await page.getByRole('button', { name: 'Resume' }).click();
  await runBadge('waiting-approval').waitFor();
  await page.locator('.approval').waitFor();
  await page.getByRole('button', { name: 'Approve cutover' }).click();
  await runBadge('succeeded').waitFor({ timeout: 120_000 });
  const runText = await page.locator('main').innerText();
  check(/run\.approved/.test(runText), 'the run.approved event did not reach the page');
  check(runText.includes('console:') || runText.includes('console-test'), 'the approver is not shown');
  check((await copyRow.innerText()).replace(/,/g, '').includes(String(expectedRows)), `copy-bank does not show the ${expectedRows} rows of the bank`);
  await shot('05-run-succeeded');

  await page.goto(`${base}/#/runs`);
  await page.locator('table[aria-label="Runs"] tbody tr').first().waitFor();
  check((await page.locator('table[aria-label="Runs"]').innerText()).includes(runId), 'the run is not listed');
  await shot('02-runs');

  // ---- Verification.
  await page.goto(`${base}/#/runs/${encodeURIComponent(runId)}/verification`);
  await page.getByRole('heading', { level: 2, name: /verify-bank/ }).waitFor();
  await page.getByText('From the report verify-bank.attempt-1.json').waitFor();
  const verification = await page.locator('main').innerText();
  check(/Identical/.test(verification), `the verification is not shown identical:\n${verification.slice(0, 800)}`);
  // The checksums shown are those of an independent `ferry verify` of the same databases.
  const independent = JSON.parse(run(['--json', 'verify', '--from', source, '--to', target]).stdout);
  for (const t of independent.tables) {
    check(verification.includes(t.table) && verification.includes(t.source_checksum),
      `the page does not show ${t.table} with checksum ${t.source_checksum}`);
  }
  await shot('06-verification');

  // ---- Roll the run back (asked twice): the copy's undo drops the tables it created.
  await page.goto(`${base}/#/runs/${encodeURIComponent(runId)}`);
  await page.getByRole('button', { name: 'Roll back' }).click();
  await page.getByRole('button', { name: 'Yes, roll back' }).click();
  await runBadge('(rolled-back|rollback-failed)').waitFor({ timeout: 120_000 });
  const rolled = await page.locator('.title-row .badge').innerText();
  check(rolled === 'rolled-back', `the rollback ended ${rolled}: ${await page.locator('.error-box').first().innerText().catch(() => '')}`);
  const undone = await page.locator('main').innerText();
  check(/run\.rolled-back/.test(undone) && /undone/.test(undone), 'the rollback and its undone tasks are not shown');
  await shot('07-run-rolled-back');

  // ---- Plans: one from the store's inventories, and a plan file with its dependency graph.
  await page.getByRole('link', { name: 'Plans' }).click();
  await page.getByRole('button', { name: 'Plan the stored inventories' }).click();
  await page.getByRole('heading', { level: 2, name: 'Risk register' }).waitFor();
  check(await page.locator('svg.graph g.node').count() === 5, 'the store plan does not draw its 5 servers');
  await chartsDrawn();
  await shot('08-plan-store');

  const plan = JSON.parse(readFileSync(join(work, 'plan.json'), 'utf8'));
  await page.goto(`${base}/#/plans/file`);
  await page.locator('input[type=file]').setInputFiles(join(work, 'plan.json'));
  await page.getByRole('heading', { level: 2, name: 'Waves and dependencies' }).waitFor();
  check(await page.locator('svg.graph g.node').count() === plan.servers.length, 'the graph does not draw every server');
  check(await page.locator('svg.graph path.edge').count() === plan.dependencies.list.length, 'the graph does not draw every dependency');
  check(await page.locator('table[aria-label="Risk register"] tbody tr').count() === plan.risks.length, 'the risk register is incomplete');
  await chartsDrawn();
  await page.locator('svg.graph g.node').first().click();
  await page.locator('.selected-server').waitFor();
  await shot('09-plan-file');

  // ---- The event log and its chain.
  await page.getByRole('link', { name: 'Event log' }).click();
  await page.locator('.chain .verdict').waitFor();
  const chain = await page.locator('.chain').innerText();
  check(/Intact/.test(chain), `the event chain is not shown intact: ${chain}`);
  await page.locator('table[aria-label="Events"] tbody tr').first().waitFor();
  const logged = await page.locator('table[aria-label="Events"] tbody tr').count();
  check(logged === Math.min(100, Number((await page.locator(".chain").innerText()).match(/(\d+) events checked/)?.[1] ?? -1)),
    `the event log shows ${logged} events, not those the chain check counted`);
  await shot('10-event-log');

  // ---- Sign out.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in to ferry' }).waitFor();
  check(await page.evaluate(() => sessionStorage.getItem('ferry.session') === null), 'the session survived signing out');

  const ignorable = (p) => /favicon/.test(p);
  const real = problems.filter((p) => !ignorable(p));
  // The refused key of the first sign-in logs one 401 in the console: expected.
  const unexpected = real.filter((p) => !/status of 401/.test(p) && !/status of 400/.test(p));
  check(unexpected.length === 0, `the page reported problems:\n${unexpected.join('\n')}`);
  step(`passed; screenshots in ${shots}`);
  console.log('1 passed, 0 failed');
} catch (error) {
  console.error(`console_browser_test: FAILED: ${error.stack ?? error}`);
  if (problems.length > 0) console.error(`page problems:\n${problems.join('\n')}`);
  if (serverLog) console.error(`ferry serve log (last 4000 characters):\n${serverLog.slice(-4000)}`);
  if (page) {
    await page.screenshot({ path: join(shots, 'failure.png'), fullPage: true }).catch(() => {});
  }
  console.error(`screenshots so far in ${shots} (the page at the failure: failure.png)`);
  process.exitCode = 1;
} finally {
  closing = true;
  await browser?.close().catch(() => {});
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((r) => {
      const t = setTimeout(() => { server.kill('SIGKILL'); r(); }, 10_000);
      server.once('exit', () => { clearTimeout(t); r(); });
    });
  }
}
