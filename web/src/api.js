// The HTTP API of `ferry serve` (docs/api.md): JSON over fetch with the session token.
// The token lives in sessionStorage: it ends with the tab, and no other site can read it.

const TOKEN_KEY = 'ferry.session';

export class ApiError extends Error {
  // status: the HTTP status (0 when the server could not be reached); code: the API's error code.
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function session() {
  try {
    const text = sessionStorage.getItem(TOKEN_KEY);
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

export function saveSession(value) {
  sessionStorage.setItem(TOKEN_KEY, JSON.stringify(value));
}

export function clearSession() {
  sessionStorage.removeItem(TOKEN_KEY);
}

export function token() {
  return session()?.token ?? '';
}

// Called with the ApiError of every 401, so that the console can send the user to the login.
let onUnauthorized = () => {};
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

// request('GET', '/runs') -> the parsed JSON body. `body`: an object is sent as JSON, a string
// as is with `contentType`. Throws ApiError with the server's message.
export async function request(method, path, { body, contentType, signal } = {}) {
  const headers = { Accept: 'application/json' };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  let payload;
  if (typeof body === 'string') {
    payload = body;
    headers['Content-Type'] = contentType ?? 'text/plain';
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['Content-Type'] = 'application/json';
  }
  let response;
  try {
    response = await fetch(`/api/v1${path}`, { method, headers, body: payload, signal, cache: 'no-store' });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, 'unreachable',
      `ferry serve could not be reached (${error.message}); check that it is running, then retry`);
  }
  const text = await response.text();
  let json = null;
  if (text !== '') {
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
  }
  if (!response.ok) {
    const error = new ApiError(response.status, json?.error?.code ?? `http_${response.status}`,
      json?.error?.message ?? `${method} /api/v1${path}: HTTP ${response.status} ${response.statusText}`);
    if (response.status === 429) {
      const after = response.headers.get('Retry-After');
      if (after) error.message += ` (retry in ${after} s)`;
    }
    if (response.status === 401 && path !== '/session') onUnauthorized(error);
    throw error;
  }
  return json;
}

export const get = (path, options) => request('GET', path, options);
export const post = (path, body, options = {}) => request('POST', path, { ...options, body });

// Path segment of an id from the API, so that an id can never add a path or a query.
export const seg = (id) => encodeURIComponent(String(id));

// Run control: action is pause, resume, cancel or rollback.
export function controlRun(id, action) {
  return post(`/runs/${seg(id)}/${action}`);
}

export function approveRun(id, phase) {
  return post(`/runs/${seg(id)}/approve`, { phase });
}

// Roles from least to most; `can(role, 'operator')` is true for operator and admin.
const ROLES = ['viewer', 'operator', 'admin'];
export function can(role, needed) {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed) && ROLES.indexOf(needed) >= 0;
}
