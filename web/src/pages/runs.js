// The runs, newest first, refreshed every 3 s; and, for operators, the form that starts one.
import { useState } from '../vendor/preact-hooks.module.js';
import { html } from '../html.js';
import { can, get, seg, request } from '../api.js';
import { ErrorBox, Loading, PageTitle, Progress, StateBadge, usePolling } from '../components.js';
import { formatTime } from '../format.js';

function StartRun() {
  const [yaml, setYaml] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [fileNote, setFileNote] = useState('');

  const onFile = async (event) => {
    const file = event.currentTarget.files?.[0];
    if (!file) return;
    if (file.size > 1024 * 1024) {
      setError(`${file.name} is ${file.size} bytes; a run spec is at most 1 MiB`);
      return;
    }
    setYaml(await file.text());
    setFileNote(`Loaded ${file.name}`);
    setError(null);
  };

  const submit = async (event) => {
    event.preventDefault();
    if (yaml.trim() === '') {
      setError('Paste a run spec or choose a file (`ferry run template` prints one to start from).');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const created = await request('POST', '/runs', { body: yaml, contentType: 'application/yaml' });
      location.hash = `#/runs/${seg(created.id)}`;
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return html`<section class="panel" aria-labelledby="start-run-title">
    <h2 id="start-run-title">Start a run</h2>
    <form onSubmit=${submit} class="stack">
      <label for="run-spec">Run spec (YAML)</label>
      <textarea id="run-spec" name="run-spec" rows="12" spellcheck="false" class="code"
        placeholder=${'run: bank-migration\nphases:\n  - name: replicate\n    tasks: …'}
        value=${yaml} onInput=${(e) => setYaml(e.currentTarget.value)}></textarea>
      <div class="row">
        <label class="file-label">Or upload a file
          <input type="file" accept=".yaml,.yml,text/yaml,application/yaml" onChange=${onFile} />
        </label>
        <span class="muted small" role="status">${fileNote}</span>
      </div>
      <${ErrorBox} error=${error} title="The run was not started" />
      <div><button type="submit" class="primary" disabled=${busy}>${busy ? 'Starting…' : 'Start the run'}</button></div>
    </form>
  </section>`;
}

export function RunsPage({ me }) {
  const [data, error] = usePolling((signal) => get('/runs', { signal }), 3000, []);
  const runs = data?.runs ?? [];
  return html`<section>
    <${PageTitle} title="Runs">Runs<//>
    <${ErrorBox} error=${error} title="Runs could not be read" />
    ${data === null && !error ? html`<${Loading} what="the runs" />` : null}
    ${data !== null && runs.length === 0 ? html`<p class="muted">No run yet.${can(me?.role, 'operator') ? ' Start one below.' : ''}</p>` : null}
    ${runs.length > 0 ? html`<div class="table-wrap"><table class="data" aria-label="Runs">
      <thead><tr><th scope="col">Run</th><th scope="col">Name</th><th scope="col">State</th>
        <th scope="col">Tasks</th><th scope="col">Started</th><th scope="col">Updated</th></tr></thead>
      <tbody>${runs.map((r) => html`<tr key=${r.id}>
        <th scope="row"><a href=${`#/runs/${seg(r.id)}`}>${r.id}</a></th>
        <td>${r.name}</td>
        <td><${StateBadge} state=${r.state} /></td>
        <td><${Progress} done=${r.tasks_done} total=${r.tasks_total} label=${`${r.tasks_done} of ${r.tasks_total} tasks`} />
          <span class="small muted"> ${r.tasks_done}/${r.tasks_total}</span></td>
        <td>${formatTime(r.created_at)}</td>
        <td>${formatTime(r.updated_at)}</td>
      </tr>`)}</tbody>
    </table></div>` : null}
    ${can(me?.role, 'operator') ? html`<${StartRun} />` : null}
  </section>`;
}
