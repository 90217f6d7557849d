// The ferry console: a single page over the HTTP API of `ferry serve`. Routes are hashes
// (#/runs/ID), so the server serves index.html for every page and the API alone decides what
// the user may see and do.
import { render } from './vendor/preact.module.js';
import { useEffect, useState } from './vendor/preact-hooks.module.js';
import { html } from './html.js';
import { clearSession, get, session, setUnauthorizedHandler } from './api.js';
import { LoginPage } from './pages/login.js';
import { RunsPage } from './pages/runs.js';
import { RunPage } from './pages/run.js';
import { PlansPage, PlanPage, PlanFilePage } from './pages/plan.js';
import { VerificationPage } from './pages/verification.js';
import { EventsPage } from './pages/events.js';

// '#/runs/run-1/verification' -> ['runs', 'run-1', 'verification'] (decoded).
function currentRoute() {
  const hash = location.hash.replace(/^#\/?/, '');
  return hash === '' ? [] : hash.split('/').map((part) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  });
}

export function navigate(path) {
  location.hash = `#${path}`;
}

function Page({ route, me }) {
  const [first, id, sub] = route;
  switch (first) {
    case 'runs':
      if (id && sub === 'verification') return html`<${VerificationPage} id=${id} />`;
      if (id) return html`<${RunPage} id=${id} me=${me} />`;
      return html`<${RunsPage} me=${me} />`;
    case 'plans':
      if (id === 'file') return html`<${PlanFilePage} />`;
      if (id) return html`<${PlanPage} id=${id} />`;
      return html`<${PlansPage} me=${me} />`;
    case 'events':
      return html`<${EventsPage} />`;
    default:
      return html`<section><h1>Not found</h1><p>No page at <code>${location.hash}</code>. <a href="#/runs">Go to the runs</a>.</p></section>`;
  }
}

function NavLink({ href, current, children }) {
  return html`<a href=${href} aria-current=${current ? 'page' : undefined}>${children}</a>`;
}

function App() {
  const [route, setRoute] = useState(currentRoute());
  const [me, setMe] = useState(null);
  const [signedIn, setSignedIn] = useState(session() !== null);
  const [notice, setNotice] = useState('');

  useEffect(() => {
    const onHash = () => setRoute(currentRoute());
    addEventListener('hashchange', onHash);
    setUnauthorizedHandler((error) => {
      clearSession();
      setSignedIn(false);
      setMe(null);
      setNotice(error.message);
    });
    return () => removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    if (!signedIn) return;
    get('/whoami').then(setMe, () => setMe(null));
  }, [signedIn]);

  if (!signedIn || route[0] === 'login') {
    return html`<${LoginPage} notice=${notice} signedIn=${signedIn} onSignedIn=${() => {
      setNotice('');
      setSignedIn(true);
      if (route[0] === 'login' || route.length === 0) navigate('/runs');
    }} />`;
  }
  if (route.length === 0) {
    navigate('/runs');
    return null;
  }
  const signOut = () => {
    clearSession();
    setMe(null);
    setSignedIn(false);
    navigate('/login');
  };
  return html`
    <a class="skip" href="#main" onClick=${(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>Skip to content</a>
    <header class="top">
      <a class="brand" href="#/runs"><img src="/assets/ferry.svg" alt="" width="24" height="24" /> ferry</a>
      <nav aria-label="Main">
        <${NavLink} href="#/runs" current=${route[0] === 'runs'}>Runs<//>
        <${NavLink} href="#/plans" current=${route[0] === 'plans'}>Plans<//>
        <${NavLink} href="#/events" current=${route[0] === 'events'}>Event log<//>
      </nav>
      <div class="who">
        ${me ? html`<span><span class="who-name">${me.name}</span> <span class="badge tone-idle">${me.role}</span></span>` : null}
        <button type="button" class="link-button" onClick=${signOut}>Sign out</button>
      </div>
    </header>
    <main id="main" tabindex="-1">
      <${Page} route=${route} me=${me} />
    </main>`;
}

render(html`<${App} />`, document.getElementById('app'));
