// Sign in with an API key: POST /session gives a console token (12 h), kept in sessionStorage.
import { useState } from '../vendor/preact-hooks.module.js';
import { html } from '../html.js';
import { post, saveSession } from '../api.js';
import { ErrorBox, PageTitle } from '../components.js';

export function LoginPage({ notice, onSignedIn }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event) => {
    event.preventDefault();
    const apiKey = key.trim();
    if (!apiKey.startsWith('fry_')) {
      setError('An API key starts with fry_ (it is shown once, by `ferry api-key create NAME --role ROLE`).');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const s = await post('/session', { api_key: apiKey });
      saveSession({ token: s.token, name: s.name, role: s.role, expires_at: s.expires_at });
      setKey('');
      onSignedIn();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return html`<main id="main" class="login">
    <div class="login-card">
      <img src="/assets/ferry.svg" alt="" width="48" height="48" />
      <${PageTitle} title="Sign in">Sign in to ferry<//>
      ${notice ? html`<p class="notice" role="status">${notice}</p>` : null}
      <form onSubmit=${submit} class="stack">
        <label for="api-key">API key</label>
        <input id="api-key" name="api-key" type="password" autocomplete="off" spellcheck="false"
          placeholder="fry_…" value=${key} onInput=${(e) => setKey(e.currentTarget.value)}
          aria-describedby="api-key-help" required />
        <p id="api-key-help" class="muted small">Paste a key made with <code>ferry api-key create NAME --role operator</code>.
          The console keeps a session token for this tab only (12 hours), never the key.</p>
        <${ErrorBox} error=${error} />
        <button type="submit" class="primary" disabled=${busy}>${busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
    </div>
  </main>`;
}
