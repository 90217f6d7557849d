// The console's pure modules under Node's test runner (`node --test`): the server-sent events
// parser and follower (web/src/sse.js), the formats (web/src/format.js) and the wave graph
// layout (web/src/graph.js). The parser is checked against the WHATWG rules' own examples and,
// on random streams cut at random places, against eventsource-parser (test/node), an
// implementation independent of the console's.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { SseParser, StreamRefused, followEvents } from '../../web/src/sse.js';
import { formatBytes, formatClock, formatCount, formatDuration, formatRate, formatTime, formatUsd, fraction, secondsBetween, stateTone } from '../../web/src/format.js';
import { layoutWaves, NODE_HEIGHT, NODE_WIDTH } from '../../web/src/graph.js';

const here = dirname(fileURLToPath(import.meta.url));
const referenceParser = join(here, '../node/node_modules/eventsource-parser/dist/index.js');

// A small deterministic generator (mulberry32), so that a failure can be replayed.
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function parseAll(chunks) {
  const parser = new SseParser();
  const events = [];
  for (const chunk of chunks) events.push(...parser.feed(chunk));
  parser.end();
  return { events, parser };
}

test('SseParser: the WHATWG examples', () => {
  // "Interpreting an event stream": the examples of section 9.2.6.
  let { events } = parseAll(['data: YHOO\ndata: +2\ndata: 10\n\n']);
  assert.deepEqual(events, [{ id: '', type: 'message', data: 'YHOO\n+2\n10' }]);

  ({ events } = parseAll([': test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n']));
  assert.deepEqual(events, [
    { id: '1', type: 'message', data: 'first event' },
    { id: '', type: 'message', data: 'second event' },
    { id: '', type: 'message', data: ' third event' },
  ]);

  ({ events } = parseAll(['data\n\ndata\ndata\n\ndata:']));
  assert.deepEqual(events, [
    { id: '', type: 'message', data: '' },
    { id: '', type: 'message', data: '\n' },
  ]);

  ({ events } = parseAll(['data:test\n\ndata: test\n\n']));
  assert.deepEqual(events.map((e) => e.data), ['test', 'test']);
});

test('SseParser: ferry\'s stream: ids carry over, kinds, keep-alives, every line ending', () => {
  const body = 'id: 7\nevent: task.progress\ndata: {"seq":7}\n\n: keep-alive\n\nid: 8\r\nevent: run.approved\r\ndata: {"seq":8}\r\n\r\nevent: x\rdata: y\r\r';
  const { events } = parseAll([body]);
  assert.deepEqual(events, [
    { id: '7', type: 'task.progress', data: '{"seq":7}' },
    { id: '8', type: 'run.approved', data: '{"seq":8}' },
    { id: '8', type: 'x', data: 'y' },
  ]);
});

test('SseParser: retry, unknown fields, an id with NUL, an unfinished event at the end', () => {
  const { events, parser } = parseAll(['retry: 2500\nretry: soon\nfoo: bar\nid: 3\ndata: a\n\nid: 4\u00005\ndata: b\n\ndata: lost']);
  assert.equal(parser.retry, 2500);
  assert.deepEqual(events, [
    { id: '3', type: 'message', data: 'a' },
    { id: '3', type: 'message', data: 'b' },
  ]);
});

test('SseParser: a stream cut anywhere parses as the whole (CR LF split across chunks too)', () => {
  const body = 'id: 1\r\nevent: a\r\ndata: one\r\ndata: two\r\n\r\n: c\r\nid: 2\ndata: three\n\nid: 3\rdata: four\r\r';
  const whole = parseAll([body]).events;
  assert.equal(whole.length, 3);
  for (let i = 0; i <= body.length; i++) {
    for (let j = i; j <= body.length; j += 3) {
      assert.deepEqual(parseAll([body.slice(0, i), body.slice(i, j), body.slice(j)]).events, whole, `cut at ${i} and ${j}`);
    }
  }
});

test('SseParser agrees with eventsource-parser on 300 random streams cut at random places', async (t) => {
  if (!existsSync(referenceParser)) {
    t.skip('eventsource-parser is not installed in test/node: run ./setup.sh test (npm ci --prefix test/node)');
    return;
  }
  const { createParser } = await import(pathToFileURL(referenceParser));
  const next = random(20261207);
  const pick = (list) => list[Math.floor(next() * list.length)];
  const endings = ['\n', '\r\n', '\r'];
  for (let round = 0; round < 300; round++) {
    const ending = pick(endings);
    let body = '';
    const events = 1 + Math.floor(next() * 6);
    for (let e = 0; e < events; e++) {
      if (next() < 0.3) body += `: keep-alive${ending}`;
      if (next() < 0.7) body += `id: ${Math.floor(next() * 1000)}${ending}`;
      if (next() < 0.5) body += `event: ${pick(['task.progress', 'run.started', 'phase.started'])}${ending}`;
      const lines = 1 + Math.floor(next() * 3);
      for (let l = 0; l < lines; l++) {
        body += `data:${next() < 0.5 ? ' ' : ''}${JSON.stringify({ seq: e, text: pick(['ü', 'a: b', '  x', '', '日本'] ) })}${ending}`;
      }
      body += ending;
    }
    // eventsource-parser is told of no end of stream, so it cannot tell a final CR from the
    // first half of a CR LF: it waits. An LF after it means the same to both.
    if (body.endsWith('\r')) body += '\n';
    const chunks = [];
    for (let i = 0; i < body.length;) {
      const n = 1 + Math.floor(next() * 12);
      chunks.push(body.slice(i, i + n));
      i += n;
    }
    const ours = parseAll(chunks).events;
    const theirs = [];
    let lastId = '';
    const reference = createParser({
      onEvent: (m) => {
        if (m.id !== undefined) lastId = m.id;
        theirs.push({ id: lastId, type: m.event ?? 'message', data: m.data });
      },
    });
    for (const chunk of chunks) reference.feed(chunk);
    assert.deepEqual(ours, theirs, `round ${round}: ${JSON.stringify(body)}`);
  }
});

// A fetch that answers each call with the next scripted response, recording the requests.
function scriptedFetch(script) {
  const requests = [];
  const fetchImpl = async (url, init) => {
    requests.push({ url, headers: { ...init.headers } });
    const step = script.shift();
    if (!step) throw new Error('no more scripted responses');
    if (step.status && step.status >= 400) {
      return new Response(JSON.stringify({ error: { code: 'unauthenticated', message: step.message } }), { status: step.status });
    }
    const encoder = new TextEncoder();
    // One chunk per read, then the end or a reset (erroring at once would drop queued chunks).
    const chunks = [...step.chunks];
    const stream = new ReadableStream({
      pull(controller) {
        if (chunks.length > 0) controller.enqueue(encoder.encode(chunks.shift()));
        else if (step.fail) controller.error(new Error('connection reset'));
        else controller.close();
      },
    });
    return new Response(stream, { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
  };
  return { fetchImpl, requests };
}

test('followEvents reconnects with Last-Event-ID, loses and repeats nothing, stops on 401', async () => {
  const { fetchImpl, requests } = scriptedFetch([
    { chunks: ['id: 1\nevent: run.started\ndata: {"seq":1}\n\nid: 2\nevent: task.started\nda', 'ta: {"seq":2}\n\nid: 3\ndata: {"seq"'], fail: true },
    { chunks: ['id: 3\ndata: {"seq":3}\n\n'] },
    { status: 401, message: 'the session expired: sign in again' },
  ]);
  const seen = [];
  const states = [];
  await assert.rejects(
    followEvents({
      url: '/api/v1/runs/run-1/events',
      token: 'tok',
      fetchImpl,
      minDelay: 1,
      maxDelay: 2,
      onEvent: (e) => seen.push(JSON.parse(e.data).seq),
      onState: (s) => states.push(s),
    }),
    (error) => error instanceof StreamRefused && error.status === 401 && /sign in again/.test(error.message));
  assert.deepEqual(seen, [1, 2, 3]);
  assert.equal(requests.length, 3);
  assert.equal(requests[0].headers.Authorization, 'Bearer tok');
  assert.equal(requests[0].headers.Accept, 'text/event-stream');
  assert.equal(requests[0].headers['Last-Event-ID'], undefined);
  assert.equal(requests[1].headers['Last-Event-ID'], '2');
  assert.equal(requests[2].headers['Last-Event-ID'], '3');
  assert.deepEqual(states, ['open', 'reconnecting', 'open', 'reconnecting', 'refused']);
});

test('followEvents ends when the stream ends and shouldContinue says so, and on abort', async () => {
  const { fetchImpl, requests } = scriptedFetch([{ chunks: ['id: 9\ndata: {}\n\n'] }]);
  await followEvents({ url: '/e', fetchImpl, onEvent: () => {}, shouldContinue: () => false });
  assert.equal(requests.length, 1);

  const controller = new AbortController();
  const never = async (url, init) => new Promise((resolve, reject) => {
    init.signal.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })));
  });
  const done = followEvents({ url: '/e', fetchImpl: never, onEvent: () => {}, signal: controller.signal });
  controller.abort();
  await done;
});

test('formats', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1536), '1.50 KiB');
  assert.equal(formatBytes(5 * 1024 ** 3), '5.00 GiB');
  assert.equal(formatBytes(-1), '–');
  assert.equal(formatCount(1234567), '1,234,567');
  assert.equal(formatCount(undefined), '–');
  assert.equal(formatRate(0), '–');
  assert.equal(formatRate(12345.6), '12,346 rows/s');
  assert.equal(formatDuration(-1), '–');
  assert.equal(formatDuration(42), '42 s');
  assert.equal(formatDuration(187), '3 min 07 s');
  assert.equal(formatDuration(7500), '2 h 05 min');
  assert.equal(formatDuration(3 * 86400 + 7200), '3 d 2 h');
  assert.equal(formatTime('2026-12-07T16:41:34.123Z'), '2026-12-07 16:41:34 UTC');
  assert.equal(formatTime('yesterday'), '–');
  assert.equal(formatClock('2026-12-07T16:41:34.923Z'), '16:41:34');
  assert.equal(formatClock(''), '–');
  assert.equal(secondsBetween('2026-12-07T16:41:34.500Z', '2026-12-07T16:43:00Z'), 85.5);
  assert.equal(secondsBetween('2026-12-07T16:41:34Z', ''), null);
  assert.equal(formatUsd(1234.4), '$1,234');
  assert.equal(formatUsd(61.756), '$61.76');
  assert.equal(fraction(5, 0), null);
  assert.equal(fraction(15, 10), 1);
  for (const [state, tone] of [['succeeded', 'ok'], ['running', 'active'], ['waiting-approval', 'waiting'], ['rollback-failed', 'bad'], ['queued', 'idle']]) {
    assert.equal(stateTone(state), tone, state);
  }
});

// A random plan: waves of servers, and dependencies that mostly go to the same or an earlier
// wave (as the planner places them), some to later waves (across environments), some to
// servers in no wave.
function randomPlan(next, servers) {
  const names = Array.from({ length: servers }, (_, i) => `srv-${String(i).padStart(3, '0')}`);
  const waves = [];
  let i = 0;
  for (let number = 1; i < names.length; number++) {
    const size = 1 + Math.floor(next() * 7);
    waves.push({ number, environment: number < 2 ? 'non-production' : 'production', size, servers: names.slice(i, i + size) });
    i += size;
  }
  const list = [];
  for (let e = 0; e < servers * 1.5; e++) {
    const from = names[Math.floor(next() * names.length)];
    const to = next() < 0.05 ? 'outside-1' : names[Math.floor(next() * names.length)];
    list.push({ from, to, port: 5432, protocol: 'tcp', frequency: 1 });
  }
  return { waves, servers: names.map((name) => ({ name })), dependencies: { list }, cross_environment: [] };
}

test('layoutWaves: one box per server in its wave\'s column, none overlapping, edges between box sides', () => {
  const next = random(7);
  for (let round = 0; round < 50; round++) {
    const plan = randomPlan(next, 1 + Math.floor(next() * 80));
    const layout = layoutWaves(plan);
    const placed = plan.waves.flatMap((w) => w.servers);
    assert.equal(layout.nodes.length, placed.length);
    assert.deepEqual(new Set(layout.nodes.map((n) => n.name)), new Set(placed));
    const column = new Map(layout.columns.map((c) => [c.wave, c.x]));
    const sorted = [...layout.columns].sort((a, b) => a.wave - b.wave);
    for (let c = 1; c < sorted.length; c++) assert.ok(sorted[c].x >= sorted[c - 1].x + NODE_WIDTH, 'columns in wave order, apart');
    for (const n of layout.nodes) {
      assert.equal(n.x, column.get(n.wave), `${n.name} in its wave's column`);
      assert.ok(n.x >= 0 && n.y >= 0 && n.x + NODE_WIDTH <= layout.width && n.y + NODE_HEIGHT <= layout.height, `${n.name} inside the drawing`);
    }
    for (const a of layout.nodes) {
      for (const b of layout.nodes) {
        if (a === b) continue;
        const apart = a.x + NODE_WIDTH <= b.x || b.x + NODE_WIDTH <= a.x || a.y + NODE_HEIGHT <= b.y || b.y + NODE_HEIGHT <= a.y;
        assert.ok(apart, `${a.name} and ${b.name} overlap`);
      }
    }
    const at = new Map(layout.nodes.map((n) => [n.name, n]));
    const expected = plan.dependencies.list.filter((e) => at.has(e.from) && at.has(e.to) && e.from !== e.to);
    assert.equal(layout.edges.length, expected.length);
    for (const e of layout.edges) {
      const numbers = e.d.match(/-?[0-9.]+/g).map(Number);
      const [x1, y1] = numbers.slice(0, 2);
      const [x2, y2] = numbers.slice(-2);
      const a = at.get(e.from);
      const b = at.get(e.to);
      assert.ok(x1 === a.x || x1 === a.x + NODE_WIDTH, `${e.from} -> ${e.to} starts on a side of ${e.from}`);
      assert.equal(y1, a.y + NODE_HEIGHT / 2);
      assert.ok(x2 === b.x || x2 === b.x + NODE_WIDTH, `${e.from} -> ${e.to} ends on a side of ${e.to}`);
      assert.equal(y2, b.y + NODE_HEIGHT / 2);
    }
  }
});
