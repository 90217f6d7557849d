// Layout of a plan's waves as a dependency graph: one column per wave, in wave order, each
// server a box in its wave's column; an edge from a server to each server it depends on.
// Within a column, servers are ordered by the barycentre of their neighbours in the columns
// already placed (Sugiyama, Tagawa and Toda, "Methods for visual understanding of hierarchical
// system structures", IEEE SMC 11(2), 1981, section 3.2), which keeps most edges from crossing.
// Pure: test/browser/unit_test.mjs checks its invariants under Node.

export const NODE_WIDTH = 150;
export const NODE_HEIGHT = 28;
const COLUMN_GAP = 90;
const ROW_GAP = 12;
const MARGIN = 16;
const HEADER = 34;

// Colours of waves 1, 2, ... (repeating), chosen to be told apart in the common colour-vision
// deficiencies (Okabe and Ito's palette) and to hold black text at a contrast of 4.5:1 or more.
export const WAVE_COLOURS = ['#e69f00', '#56b4e9', '#5fd3a6', '#f0e442', '#6ea8dc', '#f08c4a', '#d9a0c0', '#bbbbbb'];

export function waveColour(number) {
  return WAVE_COLOURS[(Math.max(1, number) - 1) % WAVE_COLOURS.length];
}

// plan: the plan JSON. Returns {width, height, columns: [{wave, x, label}], nodes: [{name, wave,
// x, y, server}], edges: [{from, to, d, crossEnvironment, sameWave}]}; a name listed in no wave
// is left out, and so is an edge to it.
export function layoutWaves(plan) {
  const waves = [...(plan.waves ?? [])].sort((a, b) => a.number - b.number);
  const servers = new Map((plan.servers ?? []).map((s) => [s.name, s]));
  const waveOf = new Map();
  for (const w of waves) for (const name of w.servers) waveOf.set(name, w.number);

  const neighbours = new Map();
  const link = (a, b) => {
    if (!neighbours.has(a)) neighbours.set(a, []);
    neighbours.get(a).push(b);
  };
  const deps = (plan.dependencies?.list ?? []).filter((e) => waveOf.has(e.from) && waveOf.has(e.to) && e.from !== e.to);
  for (const e of deps) {
    link(e.from, e.to);
    link(e.to, e.from);
  }

  const position = new Map();  // name -> row index within its column
  const columns = [];
  const nodes = [];
  let rows = 0;
  waves.forEach((w, column) => {
    const names = [...w.servers];
    const key = new Map(names.map((name, i) => {
      const placed = (neighbours.get(name) ?? []).filter((n) => position.has(n)).map((n) => position.get(n));
      return [name, placed.length > 0 ? placed.reduce((a, b) => a + b, 0) / placed.length : Number.MAX_SAFE_INTEGER - names.length + i];
    }));
    names.sort((a, b) => key.get(a) - key.get(b) || a.localeCompare(b));
    const x = MARGIN + column * (NODE_WIDTH + COLUMN_GAP);
    columns.push({ wave: w.number, x, environment: w.environment, size: w.servers.length });
    names.forEach((name, row) => {
      position.set(name, row);
      nodes.push({ name, wave: w.number, x, y: HEADER + MARGIN + row * (NODE_HEIGHT + ROW_GAP), server: servers.get(name) ?? null });
    });
    rows = Math.max(rows, names.length);
  });

  const at = new Map(nodes.map((n) => [n.name, n]));
  const crossEnv = new Set((plan.cross_environment ?? []).map((c) => `${c.dependent}\u0000${c.dependency}`));
  const edges = deps.map((e) => {
    const a = at.get(e.from);
    const b = at.get(e.to);
    const sameWave = a.wave === b.wave;
    let d;
    if (sameWave) {
      // A loop out to the right of the column, so it does not run through the boxes between.
      const x = a.x + NODE_WIDTH;
      const bulge = 24 + Math.min(60, Math.abs(a.y - b.y) / 4);
      d = `M${x} ${a.y + NODE_HEIGHT / 2} C${x + bulge} ${a.y + NODE_HEIGHT / 2} ${x + bulge} ${b.y + NODE_HEIGHT / 2} ${x} ${b.y + NODE_HEIGHT / 2}`;
    } else {
      // From the dependent's side facing the dependency to the dependency's facing side.
      const y1 = a.y + NODE_HEIGHT / 2;
      const y2 = b.y + NODE_HEIGHT / 2;
      const x1 = a.x < b.x ? a.x + NODE_WIDTH : a.x;
      const x2 = a.x < b.x ? b.x : b.x + NODE_WIDTH;
      const mid = (x1 + x2) / 2;
      d = `M${x1} ${y1} C${mid} ${y1} ${mid} ${y2} ${x2} ${y2}`;
    }
    return { from: e.from, to: e.to, d, sameWave, crossEnvironment: crossEnv.has(`${e.from}\u0000${e.to}`), service: e.service ?? '', port: e.port };
  });

  return {
    width: MARGIN * 2 + Math.max(1, waves.length) * NODE_WIDTH + Math.max(0, waves.length - 1) * COLUMN_GAP + 60,
    height: HEADER + MARGIN * 2 + Math.max(1, rows) * (NODE_HEIGHT + ROW_GAP),
    columns,
    nodes,
    edges,
  };
}
