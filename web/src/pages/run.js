// One run, live: its phases as a timeline, each task's progress (rows, bytes, rate, ETA), the
// errors, and the controls the user's role allows. The run is read with GET /runs/{id} and read
// again when its event stream (/runs/{id}/events, server-sent events) says something happened.
import { useEffect, useRef, useState } from '../vendor/preact-hooks.module.js';
import { html } from '../html.js';
import { ApiError, approveRun, can, controlRun, get, seg, token } from '../api.js';
import { followEvents } from '../sse.js';
import { ErrorBox, JsonView, Loading, PageTitle, Progress, StateBadge } from '../components.js';
import { formatBytes, formatClock, formatCount, formatDuration, formatRate, formatTime, secondsBetween } from '../format.js';

// States after which nothing happens unless someone acts (the stream is then not reopened).
const FINAL = new Set(['succeeded', 'cancelled', 'rolled-back']);
const MAX_EVENTS = 200;

// Which controls a run in `state` offers; the server checks again.
function controlsFor(state) {
  return {
    pause: state === 'running' || state === 'waiting-approval',
    resume: state === 'paused' || state === 'failed',
    cancel: ['running', 'waiting-approval', 'paused', 'failed'].includes(state),
    rollback: ['failed', 'cancelled', 'succeeded', 'rollback-failed', 'paused', 'waiting-approval'].includes(state),
  };
}

function PhaseTimeline({ phases, awaiting }) {
  return html`<ol class="timeline" aria-label="Phases">
    ${phases.map((p, i) => html`<li key=${p.name} class=${`phase tone-${phaseTone(p.state)}`}
        aria-current=${p.state === 'running' || p.name === awaiting ? 'step' : undefined}>
      <span class="phase-index" aria-hidden="true">${i + 1}</span>
      <span class="phase-name">${p.name}</span>
      <${StateBadge} state=${p.state} />
      ${p.approval ? html`<span class="small muted">approval: ${p.approval}${p.approved_by ? html`<br />by ${p.approved_by}, ${formatTime(p.approved_at)}` : null}</span>` : null}
    </li>`)}
  </ol>`;
}

function phaseTone(state) {
  return { done: 'ok', running: 'active', 'waiting-approval': 'waiting', failed: 'bad' }[state] ?? 'idle';
}

function TaskRows({ task }) {
  const p = task.progress ?? {};
  const live = task.state === 'running' || task.state === 'retrying';
  return html`
    <tr key=${task.id} class=${task.error ? 'has-error' : ''}>
      <th scope="row"><span class="task-id">${task.id}</span><br /><span class="small muted">${task.type}</span></th>
      <td><${StateBadge} state=${task.state} />${task.attempts > 1 || task.max_attempts > 1 ? html`<br /><span class="small muted">attempt ${task.attempts} of ${task.max_attempts}</span>` : null}</td>
      <td class="progress-col">
        ${p.rows_total > 0 ? html`<${Progress} done=${p.rows_done} total=${p.rows_total} label=${`${task.id} rows`} />`
          : p.bytes_total > 0 ? html`<${Progress} done=${p.bytes_done} total=${p.bytes_total} label=${`${task.id} bytes`} />`
          : task.state === 'done' ? html`<${Progress} done=${1} total=${1} label=${`${task.id} done`} />`
          : html`<span class="muted">–</span>`}
        ${p.detail ? html`<br /><span class="small muted">${p.detail}</span>` : null}
      </td>
      <td class="num">${p.rows_done > 0 || p.rows_total > 0 ? formatCount(p.rows_done) : '–'}${p.rows_total > 0 ? html`<span class="muted"> / ${formatCount(p.rows_total)}</span>` : null}</td>
      <td class="num">${p.bytes_done > 0 || p.bytes_total > 0 ? formatBytes(p.bytes_done) : '–'}${p.bytes_total > 0 ? html`<span class="muted"> / ${formatBytes(p.bytes_total)}</span>` : null}</td>
      <td class="num">${live ? formatRate(task.rows_per_second) : '–'}</td>
      <td class="num">${live ? formatDuration(task.eta_seconds) : '–'}</td>
      <td class="small">${task.started_at ? html`<span title=${formatTime(task.started_at)}>${formatClock(task.started_at)}</span>
        ${task.finished_at ? html`<span class="muted"> · took ${formatDuration(secondsBetween(task.started_at, task.finished_at))}</span>` : html`<span class="muted"> · since</span>`}` : '–'}</td>
    </tr>
    ${task.error ? html`<tr class="error-row"><td colspan="8"><span class="error-text"><strong>${task.id}:</strong> ${task.error}</span></td></tr>` : null}`;
}

function ConfirmButton({ label, confirm, onConfirm, disabled, danger }) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return html`<button type="button" class=${danger ? 'danger' : ''} disabled=${disabled} onClick=${() => setAsking(true)}>${label}</button>`;
  }
  return html`<span class="confirm" role="group" aria-label=${confirm}>
    <span>${confirm}</span>
    <button type="button" class="danger" onClick=${() => { setAsking(false); onConfirm(); }}>Yes, ${label.toLowerCase()}</button>
    <button type="button" onClick=${() => setAsking(false)}>No</button>
  </span>`;
}

// The run's artifacts (reports and logs of its tasks). A link cannot carry the Authorization
// header, so a file is fetched and handed to the browser as a download.
function Artifacts({ runId, state }) {
  const [list, setList] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    const controller = new AbortController();
    get(`/runs/${seg(runId)}/artifacts`, { signal: controller.signal }).then((d) => setList(d.artifacts ?? []), (e) => {
      if (e.name !== 'AbortError') setError(e);
    });
    return () => controller.abort();
  }, [runId, state]);
  const download = async (name) => {
    try {
      const response = await fetch(`/api/v1/runs/${seg(runId)}/artifacts/${seg(name)}`, { headers: { Authorization: `Bearer ${token()}` } });
      if (!response.ok) throw new ApiError(response.status, 'download', `${name}: HTTP ${response.status}`);
      const url = URL.createObjectURL(await response.blob());
      const a = document.createElement('a');
      a.href = url;
      a.download = name;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      setError(e);
    }
  };
  if (list === null && !error) return null;
  return html`<details class="panel"><summary>Artifacts${list ? ` (${list.length})` : ''}</summary>
    <${ErrorBox} error=${error} />
    ${list && list.length === 0 ? html`<p class="muted">None yet.</p>` : null}
    ${list && list.length > 0 ? html`<ul class="artifacts">${list.map((a) => html`<li key=${a.name}>
      <button type="button" class="link-button" onClick=${() => download(a.name)}>${a.name}</button>
      <span class="small muted"> ${formatBytes(a.size)}</span></li>`)}</ul>` : null}
  </details>`;
}

function summarize(event) {
  const p = event.payload ?? {};
  const parts = [];
  for (const key of ['task', 'task_id', 'phase', 'table', 'error', 'message', 'reason']) {
    if (typeof p[key] === 'string' && p[key] !== '') parts.push(key === 'error' || key === 'message' ? p[key] : `${key} ${p[key]}`);
  }
  if (typeof p.rows_done === 'number') parts.push(`${formatCount(p.rows_done)} rows`);
  return parts.join(' · ');
}

export function RunPage({ id, me }) {
  const [run, setRun] = useState(null);
  const [error, setError] = useState(null);
  const [events, setEvents] = useState([]);
  const [stream, setStream] = useState('connecting');
  const [actionError, setActionError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [streamGeneration, setStreamGeneration] = useState(0);
  const runRef = useRef(null);
  const reloadTimer = useRef(0);
  const lastLoad = useRef(0);

  const load = async () => {
    lastLoad.current = Date.now();
    try {
      const r = await get(`/runs/${seg(id)}`);
      runRef.current = r;
      setRun(r);
      setError(null);
    } catch (e) {
      setError(e);
    }
  };

  // Reads the run again at most every 500 ms however fast events come.
  const scheduleLoad = () => {
    if (reloadTimer.current) return;
    const wait = Math.max(0, 500 - (Date.now() - lastLoad.current));
    reloadTimer.current = setTimeout(() => {
      reloadTimer.current = 0;
      load();
    }, wait);
  };

  useEffect(() => {
    setRun(null);
    setEvents([]);
    load();
    return () => clearTimeout(reloadTimer.current);
  }, [id]);

  useEffect(() => {
    const controller = new AbortController();
    followEvents({
      url: `/api/v1/runs/${seg(id)}/events`,
      token: token(),
      lastEventId: events.length > 0 ? String(events[events.length - 1].seq) : '',
      signal: controller.signal,
      shouldContinue: () => !FINAL.has(runRef.current?.state),
      onState: (state, detail) => {
        if (state === 'open') setStream('live');
        else if (state === 'reconnecting') setStream(`reconnecting in ${Math.round(detail / 1000)} s`);
        else if (state === 'refused') setStream(`closed: ${detail.message}`);
      },
      onEvent: (message) => {
        let event;
        try {
          event = JSON.parse(message.data);
        } catch {
          return;
        }
        setEvents((list) => {
          if (list.length > 0 && list[list.length - 1].seq >= event.seq) return list;
          const next = list.concat([event]);
          return next.length > MAX_EVENTS ? next.slice(next.length - MAX_EVENTS) : next;
        });
        scheduleLoad();
      },
    }).then(() => {
      if (!controller.signal.aborted) setStream('ended: the run is at rest');
    }, () => {});
    // Progress is also read every 5 s, in case the stream is down.
    const timer = setInterval(() => {
      if (!FINAL.has(runRef.current?.state) && Date.now() - lastLoad.current > 4000) load();
    }, 5000);
    return () => {
      controller.abort();
      clearInterval(timer);
    };
  }, [id, streamGeneration]);

  const act = async (what, call) => {
    setBusy(true);
    setActionError(null);
    try {
      const r = await call();
      if (r && r.id) {
        runRef.current = r;
        setRun(r);
      } else {
        await load();
      }
      setStreamGeneration((g) => g + 1);
    } catch (e) {
      setActionError(new Error(`${what}: ${e.message}`));
    } finally {
      setBusy(false);
    }
  };

  if (run === null) {
    return html`<section><${PageTitle} title=${`Run ${id}`}>Run ${id}<//>
      ${error ? html`<${ErrorBox} error=${error} title="The run could not be read" />` : html`<${Loading} what="the run" />`}</section>`;
  }

  const operator = can(me?.role, 'operator');
  const controls = controlsFor(run.state);
  const awaitingPhase = run.phases.find((p) => p.name === run.awaiting);
  const mayApprove = awaitingPhase && can(me?.role, awaitingPhase.approval || 'operator');
  const phaseNames = run.phases.map((p) => p.name);
  const verifyTasks = run.tasks.filter((t) => t.type === 'verify');

  return html`<section>
    <div class="title-row">
      <${PageTitle} title=${`${run.state} · ${run.name} ${run.id}`}>${run.name} <span class="muted id">${run.id}</span><//>
      <${StateBadge} state=${run.state} />
      <span class="stream small muted" role="status" aria-live="polite">events: ${stream}</span>
    </div>
    <dl class="facts">
      <div><dt>Started by</dt><dd>${run.started_by || '–'}</dd></div>
      <div><dt>Created</dt><dd>${formatTime(run.created_at)}</dd></div>
      <div><dt>Updated</dt><dd>${formatTime(run.updated_at)}</dd></div>
      <div><dt>Rows moved</dt><dd>${formatCount(run.rows_done)}</dd></div>
      <div><dt>Bytes moved</dt><dd>${formatBytes(run.bytes_done)}</dd></div>
      <div><dt>Tasks done</dt><dd>${run.tasks.filter((t) => t.state === 'done').length} of ${run.tasks.length}</dd></div>
    </dl>
    <${ErrorBox} error=${error} title="The run could not be read again" />
    ${run.error ? html`<div class="error-box" role="alert"><strong>The run ${run.state}: </strong><span class="error-text">${run.error}</span></div>` : null}

    ${run.state === 'waiting-approval' && awaitingPhase ? html`<div class="approval" role="region" aria-label="Approval">
      <p><strong>Phase ${awaitingPhase.name}</strong> waits for the approval of ${awaitingPhase.approval || 'an operator'}.</p>
      ${mayApprove ? html`<button type="button" class="primary" disabled=${busy}
          onClick=${() => act('Approve', () => approveRun(run.id, awaitingPhase.name))}>Approve ${awaitingPhase.name}</button>`
        : html`<p class="muted">Your role (${me?.role ?? 'unknown'}) cannot approve it.</p>`}
    </div>` : null}

    ${operator ? html`<div class="controls" role="group" aria-label="Run controls">
      ${controls.pause ? html`<button type="button" disabled=${busy} onClick=${() => act('Pause', () => controlRun(run.id, 'pause'))}>Pause</button>` : null}
      ${controls.resume ? html`<button type="button" disabled=${busy} onClick=${() => act('Resume', () => controlRun(run.id, 'resume'))}>${run.state === 'failed' ? 'Retry' : 'Resume'}</button>` : null}
      ${controls.cancel ? html`<${ConfirmButton} label="Cancel" confirm="Cancel this run? No new task starts." disabled=${busy} danger=${true}
          onConfirm=${() => act('Cancel', () => controlRun(run.id, 'cancel'))} />` : null}
      ${controls.rollback ? html`<${ConfirmButton} label="Roll back" confirm="Undo every completed task, newest first?" disabled=${busy} danger=${true}
          onConfirm=${() => act('Roll back', () => controlRun(run.id, 'rollback'))} />` : null}
    </div>` : null}
    <${ErrorBox} error=${actionError} />

    <h2>Phases</h2>
    <${PhaseTimeline} phases=${run.phases} awaiting=${run.awaiting} />

    <h2>Tasks</h2>
    ${phaseNames.map((phase) => {
      const tasks = run.tasks.filter((t) => t.phase === phase);
      if (tasks.length === 0) return null;
      return html`<div class="table-wrap" key=${phase}><table class="data tasks" aria-label=${`Tasks of phase ${phase}`}>
        <caption>${phase}</caption>
        <thead><tr><th scope="col" class="col-task">Task</th><th scope="col" class="col-state">State</th><th scope="col" class="col-progress">Progress</th>
          <th scope="col" class="num col-rows">Rows</th><th scope="col" class="num col-bytes">Bytes</th><th scope="col" class="num col-rate">Rate</th>
          <th scope="col" class="num col-eta">ETA</th><th scope="col" class="col-time">Started (UTC)</th></tr></thead>
        <tbody>${tasks.map((t) => html`<${TaskRows} task=${t} />`)}</tbody>
      </table></div>`;
    })}

    <p class="row">
      ${verifyTasks.length > 0 ? html`<a href=${`#/runs/${seg(run.id)}/verification`}>Verification results (${verifyTasks.length} task${verifyTasks.length === 1 ? '' : 's'})</a>` : null}
      <a href="#/events">Event log</a>
    </p>

    <h2>Events of this run</h2>
    ${events.length === 0 ? html`<p class="muted">No event received yet.</p>` : html`<div class="table-wrap events-live" tabindex="0" role="region" aria-label="Events of this run, newest first"><table class="data" aria-label="Events of this run">
      <thead><tr><th scope="col" class="num">#</th><th scope="col">At</th><th scope="col">Event</th><th scope="col">Actor</th><th scope="col">Detail</th></tr></thead>
      <tbody>${events.slice().reverse().map((e) => html`<tr key=${e.seq}>
        <td class="num">${e.seq}</td><td class="small">${formatTime(e.at)}</td><td><code>${e.kind}</code></td>
        <td>${e.actor}</td><td class="small">${summarize(e)}</td></tr>`)}</tbody>
    </table></div>`}

    <${Artifacts} runId=${run.id} state=${run.state} />
    <details class="panel">
      <summary>Run spec as started</summary>
      <pre class="code">${run.spec_yaml}</pre>
    </details>
    ${run.tasks.some((t) => t.result) ? html`<details class="panel"><summary>Task results</summary>
      ${run.tasks.filter((t) => t.result).map((t) => html`<h3>${t.id}</h3><${JsonView} value=${t.result} />`)}
    </details>` : null}
  </section>`;
}
