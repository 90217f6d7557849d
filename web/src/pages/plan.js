// Plans: the list in the store, one plan (GET /plans/{id}), or a plan file of `ferry plan
// --json` opened from disk (read in the browser, sent nowhere). A plan shows its waves as a
// dependency graph, the sizing options and the monthly cost per cloud, and the risk register.
import { useMemo, useState } from '../vendor/preact-hooks.module.js';
import { html } from '../html.js';
import { can, get, post, seg } from '../api.js';
import { ErrorBox, Loading, PageTitle, usePolling } from '../components.js';
import { ChartCanvas } from '../chart.js';
import { layoutWaves, NODE_HEIGHT, NODE_WIDTH, waveColour } from '../graph.js';
import { formatCount, formatTime, formatUsd } from '../format.js';

const CLOUD_NAMES = { aws: 'AWS', azure: 'Azure', gcp: 'GCP' };
const OPTIONS = ['conservative', 'balanced', 'aggressive'];
const GRAPH_LIMIT = 400;  // servers drawn in the graph; a bigger plan shows its waves as lists
const TABLE_LIMIT = 500;  // server rows in a table before "show all"

const cloudName = (c) => CLOUD_NAMES[c] ?? c;

export function PlansPage({ me }) {
  const [data, error, reload] = usePolling((signal) => get('/plans', { signal }), 0, []);
  const [inventories] = usePolling((signal) => get('/inventories', { signal }), 0, []);
  const [busy, setBusy] = useState(false);
  const [planError, setPlanError] = useState(null);
  const plans = data?.plans ?? [];
  const count = inventories?.inventories?.length;
  const makePlan = async () => {
    setBusy(true);
    setPlanError(null);
    try {
      const created = await post('/plans', {});
      reload();
      location.hash = `#/plans/${seg(created.id)}`;
    } catch (e) {
      setPlanError(e);
    } finally {
      setBusy(false);
    }
  };
  return html`<section>
    <${PageTitle} title="Plans">Plans<//>
    <div class="row">
      ${can(me?.role, 'operator') ? html`<button type="button" class="primary" onClick=${makePlan} disabled=${busy || count === 0}>
        ${busy ? 'Planning…' : 'Plan the stored inventories'}</button>` : null}
      <span class="muted">${count === undefined ? '' : `${count} inventor${count === 1 ? 'y' : 'ies'} in the store`}</span>
      <a href="#/plans/file">Open a plan file…</a>
    </div>
    <${ErrorBox} error=${planError} title="No plan was made" />
    <${ErrorBox} error=${error} title="Plans could not be read" />
    ${data === null && !error ? html`<${Loading} what="the plans" />` : null}
    ${data !== null && plans.length === 0 ? html`<p class="muted">No plan in the store yet.</p>` : null}
    ${plans.length > 0 ? html`<div class="table-wrap"><table class="data" aria-label="Plans">
      <thead><tr><th scope="col">Plan</th><th scope="col">Created</th><th scope="col" class="num">Hosts</th><th scope="col" class="num">Waves</th></tr></thead>
      <tbody>${plans.map((p) => html`<tr key=${p.id}>
        <th scope="row"><a href=${`#/plans/${seg(p.id)}`}>${p.id}</a></th><td>${formatTime(p.created_at)}</td>
        <td class="num">${formatCount(p.hosts)}</td><td class="num">${formatCount(p.waves)}</td></tr>`)}</tbody>
    </table></div>` : null}
  </section>`;
}

export function PlanPage({ id }) {
  const [plan, error] = usePolling((signal) => get(`/plans/${seg(id)}`, { signal }), 0, [id]);
  if (plan === null) {
    return html`<section><${PageTitle} title=${`Plan ${id}`}>Plan ${id}<//>
      ${error ? html`<${ErrorBox} error=${error} title="The plan could not be read" />` : html`<${Loading} what="the plan" />`}</section>`;
  }
  return html`<${PlanView} plan=${plan} title=${`Plan ${id}`} />`;
}

// The plan file opened last, kept while the tab lives so that going back shows it again.
let openedFile = null;

export function PlanFilePage() {
  const [file, setFile] = useState(openedFile);
  const [error, setError] = useState(null);
  const onFile = async (event) => {
    const f = event.currentTarget.files?.[0];
    if (!f) return;
    try {
      const plan = JSON.parse(await f.text());
      if (typeof plan !== 'object' || plan === null || plan.plan_version === undefined || !Array.isArray(plan.waves)) {
        throw new Error(`${f.name} is not a plan of \`ferry plan --json\` (no plan_version or waves)`);
      }
      if (plan.plan_version > 1) throw new Error(`${f.name} is plan_version ${plan.plan_version}; this console reads version 1: upgrade ferry`);
      openedFile = { name: f.name, plan };
      setFile(openedFile);
      setError(null);
    } catch (e) {
      setError(e instanceof SyntaxError ? new Error(`${f.name} is not JSON: ${e.message}`) : e);
    }
  };
  return html`<section>
    ${file ? null : html`<${PageTitle} title="Open a plan file">Open a plan file<//>`}
    <div class="row panel">
      <label class="file-label"><span>Plan file (<code>ferry plan --json</code>, or <code>--out plan.json</code>)</span>
        <input type="file" accept=".json,application/json" onChange=${onFile} />
      </label>
      <span class="muted small">Read in this browser only; nothing is sent.</span>
    </div>
    <${ErrorBox} error=${error} />
    ${file ? html`<${PlanView} plan=${file.plan} title=${`Plan ${file.name}`} />` : null}
  </section>`;
}

function Section({ id, title, children }) {
  return html`<section class="plan-section" aria-labelledby=${id}><h2 id=${id}>${title}</h2>${children}</section>`;
}

export function PlanView({ plan, title }) {
  const s = plan.summary ?? {};
  return html`<div class="plan">
    <${PageTitle} title=${title}>${title}<//>
    <p class="muted small">Plan of ${plan.date ?? '–'} by ${plan.generator?.name ?? 'ferry'} ${plan.generator?.version ?? ''};
      prices of ${(plan.catalog ?? []).map((c) => `${cloudName(c.cloud)} ${c.region} (${c.snapshot_date})`).join(', ') || '–'}.</p>
    <nav class="in-page" aria-label="Plan sections">
      <a href="#plan-waves" onClick=${jump}>Waves</a><a href="#plan-sizing" onClick=${jump}>Sizing</a>
      <a href="#plan-cost" onClick=${jump}>Cost</a><a href="#plan-risks" onClick=${jump}>Risks</a>
      <a href="#plan-servers" onClick=${jump}>Servers</a>
    </nav>
    <dl class="facts">
      <div><dt>Servers</dt><dd>${formatCount(s.servers)}</dd></div>
      <div><dt>Waves</dt><dd>${formatCount(s.waves)} <span class="muted small">(${formatCount(s.production_waves)} production)</span></dd></div>
      <div><dt>Coupled groups</dt><dd>${formatCount(s.coupled_groups)} <span class="muted small">(largest ${formatCount(s.largest_group)})</span></dd></div>
      <div><dt>Strategies</dt><dd>${Object.entries(s.strategies ?? {}).map(([k, v]) => `${v} ${k}`).join(', ') || '–'}</dd></div>
      <div><dt>Risks</dt><dd>${Object.keys(s.risks ?? {}).length === 0 ? 'none' : Object.entries(s.risks).map(([k, v]) => html`<span class=${`badge level-${k}`}>${v} ${k}</span> `)}</dd></div>
    </dl>
    ${(plan.notes ?? []).length > 0 ? html`<div class="notes"><h2 class="small-heading">Notes</h2><ul>${plan.notes.map((n) => html`<li>${n}</li>`)}</ul></div>` : null}
    <${Section} id="plan-waves" title="Waves and dependencies"><${WaveGraph} plan=${plan} /><//>
    <${Section} id="plan-sizing" title="Sizing options"><${Sizing} plan=${plan} /><//>
    <${Section} id="plan-cost" title="Monthly cost per cloud"><${Cost} plan=${plan} /><//>
    <${Section} id="plan-risks" title="Risk register"><${Risks} risks=${plan.risks ?? []} /><//>
    <${Section} id="plan-servers" title="Servers"><${Servers} plan=${plan} /><//>
  </div>`;
}

// In-page links: the hash is the router's, so scroll and focus instead of navigating.
function jump(event) {
  event.preventDefault();
  const target = document.getElementById(event.currentTarget.getAttribute('href').slice(1));
  target?.scrollIntoView({ block: 'start' });
  target?.setAttribute('tabindex', '-1');
  target?.focus({ preventScroll: true });
}

function WaveGraph({ plan }) {
  const servers = plan.servers?.length ?? 0;
  const layout = useMemo(() => (servers <= GRAPH_LIMIT ? layoutWaves(plan) : null), [plan]);
  const [selected, setSelected] = useState(null);
  const waves = plan.waves ?? [];
  const highlight = selected ? new Set(layout?.edges.filter((e) => e.from === selected || e.to === selected).flatMap((e) => [e.from, e.to])) : null;
  const server = selected ? plan.servers.find((x) => x.name === selected) : null;
  return html`
    <ol class="legend" aria-label="Waves">${waves.map((w) => html`<li key=${w.number}>
      <span class="swatch" aria-hidden="true"><svg width="14" height="14"><rect width="14" height="14" rx="3" fill=${waveColour(w.number)} /></svg></span>
      Wave ${w.number} <span class="muted small">${w.environment}, ${w.size} server${w.size === 1 ? '' : 's'}${w.oversized ? ', oversized' : ''}${w.mixed ? ', mixed' : ''}</span>
    </li>`)}</ol>
    ${layout ? html`<div class="graph-wrap" tabindex="0" role="region" aria-label="Dependency graph (scrolls)">
      <svg class="graph" width=${layout.width} height=${layout.height} viewBox=${`0 0 ${layout.width} ${layout.height}`}
        role="group" aria-labelledby="graph-title" aria-describedby="graph-desc">
        <title id="graph-title">Dependency graph of ${formatCount(servers)} servers in ${waves.length} waves</title>
        <desc id="graph-desc">One column per wave, left to right; an arrow from a server to each server it depends on. The same waves are listed as text below.</desc>
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto-start-reverse">
            <path d="M0 0L10 5L0 10z" class="arrow-head" />
          </marker>
        </defs>
        ${layout.columns.map((c) => html`<text key=${`c${c.wave}`} x=${c.x + NODE_WIDTH / 2} y="22" text-anchor="middle" class="column-label">
          Wave ${c.wave}<tspan class="column-env" x=${c.x + NODE_WIDTH / 2} dy="14">${c.environment}</tspan></text>`)}
        <g class="edges">${layout.edges.map((e) => html`<path key=${`${e.from}>${e.to}`} d=${e.d} marker-end="url(#arrow)"
          class=${`edge${e.crossEnvironment ? ' cross-env' : ''}${highlight && !(e.from === selected || e.to === selected) ? ' dim' : ''}${highlight && (e.from === selected || e.to === selected) ? ' hot' : ''}`}>
          <title>${e.from} depends on ${e.to}${e.service ? ` (${e.service}, port ${e.port})` : ''}${e.crossEnvironment ? ': across environments' : ''}</title></path>`)}</g>
        <g class="nodes">${layout.nodes.map((n) => html`<g key=${n.name} class=${`node${highlight && !highlight.has(n.name) && n.name !== selected ? ' dim' : ''}${n.name === selected ? ' selected' : ''}`}
            transform=${`translate(${n.x} ${n.y})`} tabindex="0" role="button" aria-pressed=${n.name === selected ? 'true' : 'false'}
            aria-label=${`${n.name}, wave ${n.wave}${n.server?.strategy?.name ? `, ${n.server.strategy.name}` : ''}`}
            onClick=${() => setSelected(n.name === selected ? null : n.name)}
            onKeyDown=${(ev) => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); setSelected(n.name === selected ? null : n.name); } }}>
          <rect width=${NODE_WIDTH} height=${NODE_HEIGHT} rx="5" fill=${waveColour(n.wave)} />
          <text x="8" y=${NODE_HEIGHT / 2 + 4} class="node-label">${n.name.length > 20 ? `${n.name.slice(0, 19)}…` : n.name}</text>
          <title>${n.name}: wave ${n.wave}${n.server?.placement ? `; ${n.server.placement}` : ''}</title>
        </g>`)}</g>
      </svg></div>` : html`<p class="muted">${formatCount(servers)} servers: too many to draw (at most ${GRAPH_LIMIT}); the waves are listed below.</p>`}
    ${server ? html`<div class="panel selected-server" role="status">
      <strong>${server.name}</strong>: wave ${server.wave}, ${server.environment}, ${server.strategy?.name ?? '–'}.
      ${' '}${server.placement}
      <br /><span class="small muted">depends on ${server.dependencies}, ${server.dependents} depend on it; criticality ${server.criticality?.level ?? '–'}, complexity ${server.complexity?.level ?? '–'}</span>
    </div>` : null}
    <details class="panel"><summary>Waves as text</summary>
      <ol class="wave-list">${waves.map((w) => html`<li key=${w.number}><strong>Wave ${w.number}</strong> (${w.environment}): ${w.servers.join(', ')}</li>`)}</ol>
      ${(plan.cross_environment ?? []).length > 0 ? html`<p>Across environments (non-production depending on production):</p><ul>
        ${plan.cross_environment.map((c) => html`<li>${c.dependent} (wave ${c.dependent_wave}) depends on ${c.dependency} (wave ${c.dependency_wave})</li>`)}</ul>` : null}
    </details>`;
}

// Monthly compute cost of each sizing option per cloud: the sum of the on-demand monthly prices
// of the instance types the option names (a server no type fits is counted apart).
function optionCosts(plan) {
  const types = plan.instance_types ?? {};
  const clouds = Object.keys(types);
  const rows = OPTIONS.map((option) => {
    const cells = {};
    for (const cloud of clouds) {
      let usd = 0;
      let unpriced = 0;
      for (const s of plan.servers ?? []) {
        const size = s.sizing?.options?.[option];
        const type = size?.[cloud];
        if (!size) continue;
        if (type && types[cloud]?.[type]) usd += types[cloud][type].usd_per_month;
        else unpriced++;
      }
      cells[cloud] = { usd, unpriced };
    }
    return { option, cells };
  });
  return { clouds, rows };
}

function Sizing({ plan }) {
  const { clouds, rows } = useMemo(() => optionCosts(plan), [plan]);
  const [all, setAll] = useState(false);
  const servers = (plan.servers ?? []).filter((s) => s.sizing);
  const shown = all ? servers : servers.slice(0, TABLE_LIMIT);
  const config = useMemo(() => ({
    type: 'bar',
    data: {
      labels: clouds.map(cloudName),
      datasets: rows.map((r, i) => ({ label: r.option, data: clouds.map((c) => Math.round(r.cells[c].usd)), backgroundColor: ['#56b4e9', '#0072b2', '#009e73'][i] })),
    },
    options: chartOptions('USD per month (compute, on demand)'),
  }), [clouds, rows]);
  return html`
    <p class="muted small">Each server sized three ways (${plan.options ? `p${plan.options.percentile} x comfort ${plan.options.comfort}` : ''}; balanced is recommended). Monthly compute at on-demand prices.</p>
    <div class="split">
      <div class="table-wrap"><table class="data" aria-label="Monthly compute cost per sizing option and cloud">
        <thead><tr><th scope="col">Option</th>${clouds.map((c) => html`<th scope="col" class="num">${cloudName(c)} <span class="muted small">${plan.options?.regions?.[c] ?? ''}</span></th>`)}</tr></thead>
        <tbody>${rows.map((r) => html`<tr key=${r.option}><th scope="row">${r.option}${r.option === 'balanced' ? html` <span class="badge tone-ok">recommended</span>` : null}</th>
          ${clouds.map((c) => html`<td class="num">${formatUsd(r.cells[c].usd)}${r.cells[c].unpriced ? html`<br /><span class="small error-text">${r.cells[c].unpriced} not fitting</span>` : null}</td>`)}</tr>`)}</tbody>
      </table></div>
      <${ChartCanvas} config=${config} label=${`Monthly compute cost per sizing option in ${clouds.map(cloudName).join(', ')}; the figures are in the table`} />
    </div>
    <details class="panel"><summary>Sizing of each server (${formatCount(servers.length)})</summary>
      <div class="table-wrap"><table class="data small-table" aria-label="Sizing of each server">
        <thead><tr><th scope="col">Server</th><th scope="col">Basis</th><th scope="col">Confidence</th>
          ${OPTIONS.map((o) => html`<th scope="col">${o}</th>`)}
          ${clouds.map((c) => html`<th scope="col" class="num">${cloudName(c)}/month</th>`)}</tr></thead>
        <tbody>${shown.map((s) => html`<tr key=${s.name}><th scope="row">${s.name}</th>
          <td class="small">${s.sizing.basis}</td>
          <td><span aria-label=${`${s.sizing.confidence_stars} of 5 stars`}>${'★'.repeat(s.sizing.confidence_stars ?? 0)}${'☆'.repeat(5 - (s.sizing.confidence_stars ?? 0))}</span></td>
          ${OPTIONS.map((o) => {
            const size = s.sizing.options?.[o];
            return html`<td class="small">${size ? html`${size.vcpus} vCPU, ${size.memory_gib} GiB<br />${clouds.map((c) => size[c] ?? 'none').join(' · ')}` : '–'}</td>`;
          })}
          ${clouds.map((c) => html`<td class="num">${formatUsd(s.sizing.balanced_usd_per_month?.[c])}</td>`)}</tr>`)}</tbody>
      </table></div>
      ${servers.length > shown.length ? html`<button type="button" onClick=${() => setAll(true)}>Show all ${formatCount(servers.length)}</button>` : null}
    </details>`;
}

function chartOptions(yTitle) {
  return {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    plugins: { legend: { position: 'bottom' } },
    scales: { y: { beginAtZero: true, title: { display: true, text: yTitle } } },
  };
}

function Cost({ plan }) {
  const tco = plan.tco;
  const config = useMemo(() => {
    if (!tco) return null;
    const months = (tco.years || 1) * 12;
    const clouds = tco.clouds ?? [];
    return {
      type: 'bar',
      data: {
        labels: clouds.map((c) => `${cloudName(c.cloud)} (${c.region})`),
        datasets: [
          { label: 'on demand', data: clouds.map((c) => Math.round(c.total.on_demand / months)), backgroundColor: '#e69f00' },
          { label: '1-year commitment', data: clouds.map((c) => Math.round(c.total.commit_1y / months)), backgroundColor: '#56b4e9' },
          { label: '3-year commitment', data: clouds.map((c) => Math.round(c.total.commit_3y / months)), backgroundColor: '#009e73' },
          { type: 'line', label: 'on premises today', data: clouds.map(() => Math.round(tco.on_premises.total / months)), borderColor: '#444', borderDash: [6, 4], pointRadius: 0, fill: false },
        ],
      },
      options: chartOptions(`${tco.currency ?? 'USD'} per month`),
    };
  }, [tco]);
  if (!tco) return html`<p class="muted">This plan has no cost estimate.</p>`;
  const months = (tco.years || 1) * 12;
  const clouds = tco.clouds ?? [];
  const rows = [
    ['compute', (c) => c.compute?.on_demand, (c) => c.compute?.commit_3y],
    ['storage', (c) => c.storage], ['egress', (c) => c.egress], ['licences', (c) => c.licences],
    ['operations', (c) => c.operations], ['kept on premises', (c) => c.kept_on_premises],
  ];
  const onPrem = tco.on_premises ?? {};
  return html`
    <p class="muted small">Over ${tco.years} years, divided by ${months} months; the estate as it runs today against each cloud (balanced sizes).</p>
    <div class="split wide-left">
      <div class="table-wrap"><table class="data" aria-label="Monthly cost per cloud">
        <thead><tr><th scope="col">Per month</th><th scope="col" class="num">On premises</th>
          ${clouds.map((c) => html`<th scope="col" class="num">${cloudName(c.cloud)} <span class="muted small">${c.region}</span></th>`)}</tr></thead>
        <tbody>
          <tr class="total"><th scope="row">total, on demand</th><td class="num" rowspan="3">${formatUsd(onPrem.total / months)}</td>${clouds.map((c) => html`<td class="num">${formatUsd(c.total.on_demand / months)}</td>`)}</tr>
          <tr class="total"><th scope="row">total, 1-year commitment</th>${clouds.map((c) => html`<td class="num">${formatUsd(c.total.commit_1y / months)}</td>`)}</tr>
          <tr class="total"><th scope="row">total, 3-year commitment</th>${clouds.map((c) => html`<td class="num">${formatUsd(c.total.commit_3y / months)}</td>`)}</tr>
          ${rows.map(([name, value]) => html`<tr><th scope="row">${name}${name === 'compute' ? ' (on demand)' : ''}</th>
            <td class="num">${name === 'compute' ? formatUsd(((onPrem.hardware ?? 0) + (onPrem.power ?? 0) + (onPrem.facilities ?? 0)) / months)
              : name === 'licences' ? formatUsd((onPrem.licences ?? 0) / months) : name === 'operations' ? formatUsd((onPrem.operations ?? 0) / months) : '–'}</td>
            ${clouds.map((c) => html`<td class="num">${formatUsd((value(c) ?? NaN) / months)}</td>`)}</tr>`)}
          <tr><th scope="row">servers priced / not</th><td class="num">–</td>${clouds.map((c) => html`<td class="num">${c.servers_priced} / ${c.servers_unpriced}</td>`)}</tr>
          <tr><th scope="row">prices of</th><td class="num">–</td>${clouds.map((c) => html`<td class="num small">${c.prices_of}</td>`)}</tr>
        </tbody>
      </table>
      <p class="small muted">On premises, "compute" is hardware, power and facilities.</p></div>
      <${ChartCanvas} config=${config} label=${`Monthly cost per cloud at on-demand, 1-year and 3-year prices, against ${formatUsd(onPrem.total / months)} on premises; the figures are in the table`} />
    </div>`;
}

function Risks({ risks }) {
  if (risks.length === 0) return html`<p class="muted">No risk found.</p>`;
  return html`<div class="table-wrap"><table class="data risks" aria-label="Risk register">
    <thead><tr><th scope="col">Risk</th><th scope="col">Level</th><th scope="col" class="num">Score</th><th scope="col">Category</th>
      <th scope="col">What</th><th scope="col">Mitigation</th><th scope="col">Servers</th></tr></thead>
    <tbody>${risks.map((r) => html`<tr key=${r.id}>
      <th scope="row">${r.id}</th>
      <td><span class=${`badge level-${r.level}`}>${r.level}</span></td>
      <td class="num"><span title=${`probability ${r.probability} x impact ${r.impact}`}>${r.score}</span><br /><span class="small muted">${r.probability} × ${r.impact}</span></td>
      <td>${r.category}</td>
      <td>${r.title}</td>
      <td class="small">${r.mitigation}</td>
      <td class="small">${(r.servers ?? []).slice(0, 8).join(', ')}${(r.servers ?? []).length > 8 ? ` and ${r.servers.length - 8} more` : ''}</td>
    </tr>`)}</tbody>
  </table></div>`;
}

function Servers({ plan }) {
  const [all, setAll] = useState(false);
  const servers = plan.servers ?? [];
  const shown = all ? servers : servers.slice(0, TABLE_LIMIT);
  return html`<div class="table-wrap"><table class="data small-table" aria-label="Servers">
    <thead><tr><th scope="col">Server</th><th scope="col">Wave</th><th scope="col">Environment</th><th scope="col">Strategy</th>
      <th scope="col">Roles</th><th scope="col">OS</th><th scope="col" class="num">vCPUs</th><th scope="col" class="num">Memory</th>
      <th scope="col">Criticality</th><th scope="col">Complexity</th><th scope="col">End of life</th></tr></thead>
    <tbody>${shown.map((s) => html`<tr key=${s.name}>
      <th scope="row">${s.name}</th>
      <td><span class="wave-dot" aria-hidden="true"><svg width="10" height="10"><circle cx="5" cy="5" r="5" fill=${waveColour(s.wave)} /></svg></span> ${s.wave}</td>
      <td>${s.environment}</td>
      <td title=${(s.strategy?.reasons ?? []).join('; ')}>${s.strategy?.name ?? '–'}</td>
      <td>${(s.roles ?? []).join(', ') || '–'}</td>
      <td class="small">${s.os ?? '–'}</td>
      <td class="num">${s.vcpus ?? '–'}</td>
      <td class="num">${s.memory_gib !== undefined ? `${s.memory_gib} GiB` : '–'}</td>
      <td>${s.criticality?.level ?? '–'} <span class="small muted">#${s.criticality?.rank ?? '–'}</span></td>
      <td>${s.complexity?.level ?? '–'} <span class="small muted">${s.complexity?.score ?? ''}</span></td>
      <td class="small">${s.end_of_life?.legacy_platform ? 'legacy platform' : s.end_of_life?.date ?? '–'}</td>
    </tr>`)}</tbody>
  </table></div>
  ${servers.length > shown.length ? html`<button type="button" onClick=${() => setAll(true)}>Show all ${formatCount(servers.length)}</button>` : null}`;
}
