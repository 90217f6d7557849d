// Chart.js, loaded on the first page that draws a chart (it is the console's largest file), from
// the copy `ferry serve` embeds: a classic script, which the CSP (script-src 'self') allows.
import { useEffect, useRef, useState } from './vendor/preact-hooks.module.js';
import { html } from './html.js';

let loading = null;

export function loadChartJs() {
  if (globalThis.Chart) return Promise.resolve(globalThis.Chart);
  if (loading) return loading;
  loading = new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = '/assets/vendor/chart.umd.min.js';
    script.onload = () => resolve(globalThis.Chart);
    script.onerror = () => {
      loading = null;
      reject(new Error('the chart library (/assets/vendor/chart.umd.min.js) could not be loaded'));
    };
    document.head.appendChild(script);
  });
  return loading;
}

// A Chart.js chart. `label` describes it for assistive technology (the figures are in the table
// beside every chart); `config` is Chart.js's configuration.
export function ChartCanvas({ config, label }) {
  const canvas = useRef(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    let chart = null;
    let cancelled = false;
    loadChartJs().then((Chart) => {
      if (cancelled || !canvas.current) return;
      chart = new Chart(canvas.current, config);
    }, setError);
    return () => {
      cancelled = true;
      chart?.destroy();
    };
  }, [config]);
  if (error) return html`<p class="error-text">${error.message}</p>`;
  return html`<div class="chart">
    <canvas ref=${canvas} role="img" aria-label=${label}>${label}</canvas>
  </div>`;
}
