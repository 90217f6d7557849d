// Small pieces the pages share.
import { useEffect, useRef, useState } from './vendor/preact-hooks.module.js';
import { html } from './html.js';
import { fraction, stateTone } from './format.js';

export function StateBadge({ state }) {
  return html`<span class=${`badge tone-${stateTone(state)}`}>${state || 'unknown'}</span>`;
}

// A progress bar with its figure in words for assistive technology; `value` null: not known.
export function Progress({ done, total, label }) {
  const f = fraction(done, total);
  if (f === null) return html`<span class="muted">${label ?? '–'}</span>`;
  const percent = `${Math.floor(f * 100)}%`;
  return html`<span class="progress-cell">
    <progress max="1" value=${f} aria-label=${label ? `${label}: ${percent}` : percent}></progress>
    <span class="progress-figure">${percent}</span>
  </span>`;
}

export function ErrorBox({ error, title }) {
  if (!error) return null;
  const message = typeof error === 'string' ? error : error.message;
  return html`<div class="error-box" role="alert">
    ${title ? html`<strong>${title}: </strong>` : null}<span class="error-text">${message}</span>
  </div>`;
}

export function Loading({ what }) {
  return html`<p class="muted" role="status">Loading ${what}…</p>`;
}

// The page's heading, focused when the page opens so that screen readers announce it.
export function PageTitle({ children, title }) {
  const ref = useRef(null);
  useEffect(() => {
    document.title = `${title ?? ''} · ferry`;
  }, [title]);
  // Focus once, when the page opens; not when its title changes under the user.
  useEffect(() => {
    ref.current?.focus();
  }, []);
  return html`<h1 tabindex="-1" ref=${ref}>${children}</h1>`;
}

// Any JSON value, read-only: objects as definition lists, arrays of objects as lists.
export function JsonView({ value, depth = 0 }) {
  if (value === null || value === undefined) return html`<span class="muted">–</span>`;
  if (typeof value !== 'object') return html`<span class="json-scalar">${String(value)}</span>`;
  if (Array.isArray(value)) {
    if (value.length === 0) return html`<span class="muted">none</span>`;
    if (value.every((v) => v === null || typeof v !== 'object')) {
      return html`<span class="json-scalar">${value.map(String).join(', ')}</span>`;
    }
    return html`<ol class="json-list">${value.map((v) => html`<li><${JsonView} value=${v} depth=${depth + 1} /></li>`)}</ol>`;
  }
  const keys = Object.keys(value);
  if (keys.length === 0) return html`<span class="muted">–</span>`;
  return html`<dl class="json-object">${keys.map((k) => html`
    <div class="json-row"><dt>${k}</dt><dd><${JsonView} value=${value[k]} depth=${depth + 1} /></dd></div>`)}
  </dl>`;
}

// Data that refreshes every `ms` while the page is open: [data, error, reload].
export function usePolling(load, ms, deps) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    let timer = 0;
    const run = async () => {
      try {
        setData(await load(controller.signal));
        setError(null);
      } catch (e) {
        if (e.name !== 'AbortError') setError(e);
      }
      if (ms > 0 && !controller.signal.aborted) timer = setTimeout(run, ms);
    };
    run();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [...deps, tick]);
  return [data, error, () => setTick((t) => t + 1)];
}
