// The whole event log, a page at a time, and the check of its hash chain
// (GET /events/verify): every event's hash covers the one before, so an edit anywhere shows.
import { useEffect, useState } from '../vendor/preact-hooks.module.js';
import { html } from '../html.js';
import { get, seg } from '../api.js';
import { ErrorBox, JsonView, Loading, PageTitle } from '../components.js';
import { formatTime } from '../format.js';

const PAGE = 100;

function ChainCheck() {
  const [report, setReport] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const check = async () => {
    setBusy(true);
    try {
      setReport(await get('/events/verify'));
      setError(null);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => { check(); }, []);
  return html`<section class="panel chain" aria-labelledby="chain-title">
    <h2 id="chain-title">Hash chain</h2>
    <${ErrorBox} error=${error} title="The chain could not be checked" />
    ${report === null && !error ? html`<${Loading} what="the check" />` : null}
    ${report ? html`<div role="status">
      ${report.intact
        ? html`<p class="verdict tone-ok">Intact: ${report.events_checked} events checked, each hash covering the one before.</p>`
        : html`<p class="verdict tone-bad">Broken${report.first_bad_seq ? ` at event ${report.first_bad_seq}` : ''}: ${report.events_checked} events checked.</p>`}
      <p class="small">Head hash <code class="hash">${report.head_hash || '–'}</code></p>
      ${(report.problems?.length ?? 0) > 0 ? html`<ul class="problems">${report.problems.map((p) => html`<li class="error-text">${typeof p === 'string' ? p : JSON.stringify(p)}</li>`)}</ul>` : null}
    </div>` : null}
    <button type="button" onClick=${check} disabled=${busy}>${busy ? 'Checking…' : 'Check again'}</button>
  </section>`;
}

export function EventsPage() {
  const [after, setAfter] = useState(0);
  const [history, setHistory] = useState([]);
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [open, setOpen] = useState(null);
  useEffect(() => {
    const controller = new AbortController();
    get(`/events?after=${after}&limit=${PAGE}`, { signal: controller.signal }).then((d) => {
      setData(d);
      setError(null);
    }, (e) => {
      if (e.name !== 'AbortError') setError(e);
    });
    return () => controller.abort();
  }, [after]);
  const events = data?.events ?? [];
  return html`<section>
    <${PageTitle} title="Event log">Event log<//>
    <${ChainCheck} />
    <h2>Events ${events.length > 0 ? html`<span class="muted small">${events[0].seq}–${events[events.length - 1].seq}</span>` : null}</h2>
    <${ErrorBox} error=${error} title="The events could not be read" />
    ${data === null && !error ? html`<${Loading} what="the events" />` : null}
    ${data !== null && events.length === 0 ? html`<p class="muted">No more events.</p>` : null}
    ${events.length > 0 ? html`<div class="table-wrap"><table class="data events" aria-label="Events">
      <thead><tr><th scope="col" class="num">#</th><th scope="col">At</th><th scope="col">Run</th><th scope="col">Event</th>
        <th scope="col">Actor</th><th scope="col">Hash</th><th scope="col">Payload</th></tr></thead>
      <tbody>${events.map((e) => html`<tr key=${e.seq}>
        <td class="num">${e.seq}</td>
        <td class="small">${formatTime(e.at)}</td>
        <td>${e.run_id ? html`<a href=${`#/runs/${seg(e.run_id)}`}>${e.run_id}</a>` : '–'}</td>
        <td><code>${e.kind}</code></td>
        <td>${e.actor}</td>
        <td><code class="hash small" title=${e.hash}>${String(e.hash ?? '').slice(0, 12)}</code></td>
        <td>${open === e.seq ? html`<${JsonView} value=${e.payload} /><button type="button" class="link-button" onClick=${() => setOpen(null)}>Hide</button>`
          : html`<button type="button" class="link-button" aria-label=${`Show the payload of event ${e.seq}`} onClick=${() => setOpen(e.seq)}>Show</button>`}</td>
      </tr>`)}</tbody>
    </table></div>` : null}
    <div class="row">
      <button type="button" disabled=${history.length === 0} onClick=${() => {
        const previous = history[history.length - 1];
        setHistory(history.slice(0, -1));
        setAfter(previous);
      }}>Previous ${PAGE}</button>
      <button type="button" disabled=${events.length < PAGE} onClick=${() => {
        setHistory(history.concat([after]));
        setAfter(events[events.length - 1].seq);
      }}>Next ${PAGE}</button>
    </div>
  </section>`;
}
