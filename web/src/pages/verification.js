// The results of a run's verify tasks: per table, the rows and checksums on both sides and what
// differs. The detail comes from the report `ferry verify --json` wrote as the task's artifact
// (TASK.attempt-N.json, the last attempt's), which a failed verification has too; without it,
// from the task's result. What this page does not know how to lay out is shown as it is.
import { useEffect, useState } from '../vendor/preact-hooks.module.js';
import { html } from '../html.js';
import { get, seg } from '../api.js';
import { ErrorBox, JsonView, Loading, PageTitle, StateBadge, usePolling } from '../components.js';
import { formatCount, formatTime } from '../format.js';

function Verdict({ result }) {
  if (!result || typeof result !== 'object') return null;
  const identical = result.identical;
  if (identical === true) return html`<p class="verdict tone-ok">Identical: every row of every table compared equal.</p>`;
  if (identical === false) return html`<p class="verdict tone-bad" role="alert">Differences found: see the tables below.</p>`;
  return null;
}

function TablesResult({ tables }) {
  return html`<div class="table-wrap"><table class="data" aria-label="Tables compared">
    <thead><tr><th scope="col">Table</th><th scope="col">Verdict</th><th scope="col" class="num">Source rows</th>
      <th scope="col" class="num">Target rows</th><th scope="col" class="num">Missing</th><th scope="col" class="num">Extra</th>
      <th scope="col" class="num">Changed</th><th scope="col">Checksum (source / target)</th></tr></thead>
    <tbody>${tables.map((t) => html`<tr key=${t.table}>
      <th scope="row">${t.table}</th>
      <td>${t.identical ? html`<span class="badge tone-ok">identical</span>`
        : t.incomplete ? html`<span class="badge tone-waiting">incomplete</span>`
        : html`<span class="badge tone-bad">differs</span>`}</td>
      <td class="num">${formatCount(t.source_rows)}</td>
      <td class="num">${formatCount(t.target_rows)}</td>
      <td class="num">${formatCount(t.missing)}</td>
      <td class="num">${formatCount(t.extra)}</td>
      <td class="num">${formatCount(t.changed)}</td>
      <td><code class="small">${t.source_checksum ?? '–'}</code><br /><code class="small">${t.target_checksum ?? '–'}</code></td>
    </tr>
    ${(t.differences?.length ?? 0) > 0 || (t.schema_notes?.length ?? 0) > 0 ? html`<tr class="error-row"><td colspan="8">
      <${JsonView} value=${{ differences: t.differences, schema_notes: t.schema_notes, missing_columns: t.missing_columns }} />
    </td></tr>` : null}`)}</tbody>
  </table></div>`;
}

// The newest report artifact of each verify task: {taskId: report JSON}.
function useReports(run) {
  const [reports, setReports] = useState({});
  const key = run ? run.tasks.filter((t) => t.type === 'verify').map((t) => `${t.id}:${t.state}:${t.attempts}`).join(',') : '';
  useEffect(() => {
    if (!run || key === '') return undefined;
    const controller = new AbortController();
    (async () => {
      let names = [];
      try {
        names = ((await get(`/runs/${seg(run.id)}/artifacts`, { signal: controller.signal })).artifacts ?? []).map((a) => a.name);
      } catch {
        return;  // no artifacts: the results alone are shown
      }
      const found = {};
      for (const task of run.tasks.filter((t) => t.type === 'verify')) {
        let best = null;
        for (const name of names) {
          const m = name.startsWith(`${task.id}.attempt-`) && name.match(/\.attempt-(\d+)\.json$/);
          if (m && (best === null || Number(m[1]) > best.attempt)) best = { name, attempt: Number(m[1]) };
        }
        if (!best) continue;
        try {
          const report = await get(`/runs/${seg(run.id)}/artifacts/${seg(best.name)}`, { signal: controller.signal });
          if (report && Array.isArray(report.tables)) found[task.id] = { ...report, artifact: best.name };
        } catch {
          // unreadable: the result is shown instead
        }
      }
      if (!controller.signal.aborted) setReports(found);
    })();
    return () => controller.abort();
  }, [key]);
  return reports;
}

export function VerificationPage({ id }) {
  const [run, error] = usePolling((signal) => get(`/runs/${seg(id)}`, { signal }), 5000, [id]);
  const reports = useReports(run);
  const title = `Verification of ${id}`;
  if (run === null) {
    return html`<section><${PageTitle} title=${title}>${title}<//>
      ${error ? html`<${ErrorBox} error=${error} title="The run could not be read" />` : html`<${Loading} what="the run" />`}</section>`;
  }
  const tasks = run.tasks.filter((t) => t.type === 'verify');
  return html`<section>
    <${PageTitle} title=${title}>Verification <span class="muted id">${run.name} · ${run.id}</span><//>
    <p><a href=${`#/runs/${seg(run.id)}`}>Back to the run</a></p>
    <${ErrorBox} error=${error} />
    ${tasks.length === 0 ? html`<p class="muted">This run has no verify task.</p>` : null}
    ${tasks.map((t) => html`<article class="panel" key=${t.id} aria-labelledby=${`verify-${t.id}`}>
      <h2 id=${`verify-${t.id}`}>${t.id} <${StateBadge} state=${t.state} /></h2>
      <p class="small muted">phase ${t.phase} · finished ${formatTime(t.finished_at)}</p>
      ${t.error ? html`<${ErrorBox} error=${t.error} title="The verification failed" />` : null}
      ${reports[t.id] || t.result ? html`
        <${Verdict} result=${reports[t.id] ?? t.result} />
        ${Array.isArray((reports[t.id] ?? t.result).tables) ? html`<${TablesResult} tables=${(reports[t.id] ?? t.result).tables} />` : null}
        ${reports[t.id] ? html`<p class="small muted">From the report <code>${reports[t.id].artifact}</code>.</p>` : null}
        ${t.result ? html`<details><summary>The task's result</summary><${JsonView} value=${t.result} /></details>` : null}`
        : html`<p class="muted">No result yet: the task is ${t.state}.</p>`}
    </article>`)}
  </section>`;
}
