// Formatting of the API's figures for people. Pure functions: test/browser/unit_test.mjs runs
// them under Node.

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

// 1536 -> "1.5 KiB". Negative or missing: "–" (the API says -1 for "not known").
export function formatBytes(n) {
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) return '–';
  let i = 0;
  while (n >= 1024 && i < BYTE_UNITS.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0)} ${BYTE_UNITS[i]}`;
}

// 1234567 -> "1,234,567". Negative or missing: "–".
export function formatCount(n) {
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) return '–';
  return Math.round(n).toLocaleString('en-US');
}

// Rows per second: "12,345 rows/s"; 0 or unknown: "–".
export function formatRate(n, unit = 'rows') {
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) return '–';
  return `${n >= 100 ? formatCount(n) : n.toFixed(1)} ${unit}/s`;
}

// Seconds -> "2 h 05 min", "3 min 07 s", "42 s". Negative (not known) or missing: "–".
export function formatDuration(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${String(m % 60).padStart(2, '0')} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

// RFC 3339 -> "2026-12-07 16:41:34 UTC" (the API's times are UTC; so is what is shown, so that
// two people reading one run see the same times). Empty or unparsable: "–".
export function formatTime(text) {
  if (typeof text !== 'string' || text === '') return '–';
  const d = new Date(text);
  if (Number.isNaN(d.getTime())) return '–';
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

// RFC 3339 -> "16:41:34" (UTC), for times whose day is shown elsewhere. Empty: "–".
export function formatClock(text) {
  const full = formatTime(text);
  return full === '–' ? full : full.slice(11, 19);
}

// Seconds between two RFC 3339 times; null when either is missing.
export function secondsBetween(from, to) {
  const a = new Date(from ?? '').getTime();
  const b = new Date(to ?? '').getTime();
  return Number.isNaN(a) || Number.isNaN(b) || from === '' || to === '' ? null : Math.max(0, (b - a) / 1000);
}

// USD amounts: "$1,234" (cents from $100 down).
export function formatUsd(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '–';
  const digits = Math.abs(n) < 100 ? 2 : 0;
  return `$${n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })}`;
}

// Share done of a total, 0..1; null when the total is not known.
export function fraction(done, total) {
  if (typeof done !== 'number' || typeof total !== 'number' || total <= 0) return null;
  return Math.max(0, Math.min(1, done / total));
}

// The CSS class of a run, phase or task state: one of ok, active, waiting, bad, idle.
export function stateTone(state) {
  switch (state) {
    case 'succeeded':
    case 'done':
    case 'undone':
    case 'rolled-back':
      return 'ok';
    case 'running':
    case 'rolling-back':
    case 'undoing':
    case 'retrying':
      return 'active';
    case 'waiting-approval':
    case 'paused':
      return 'waiting';
    case 'failed':
    case 'rollback-failed':
    case 'undo-failed':
    case 'cancelled':
      return 'bad';
    default:
      return 'idle';
  }
}
