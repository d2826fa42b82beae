// The one way the app talks to the server: JSON over fetch with the session cookie, the
// CSRF token on every request that changes something, and errors as ApiError values that
// carry the server's code, message and field.
export const PREFIX = '/api/apps/video-generator';

let csrfToken = null;
const unauthorizedListeners = new Set();

export function setCsrfToken(token) {
  csrfToken = token;
}

export const getCsrfToken = () => csrfToken;

// fn() runs when the server says the session is gone (401 on an API call).
export function onUnauthorized(fn) {
  unauthorizedListeners.add(fn);
  return () => unauthorizedListeners.delete(fn);
}

export class ApiError extends Error {
  constructor(status, error, retryAfter) {
    super((error && error.message) || `the server answered ${status}`);
    this.status = status;
    this.code = (error && error.code) || 'network';
    this.field = (error && error.field) || null;
    this.retryAfter = retryAfter ? Number(retryAfter) : null;
  }
}

// method, path (under PREFIX unless options.root), body (a value sent as JSON, or undefined).
export async function api(method, path, body, options = {}) {
  const headers = { Accept: 'application/json', ...(options.headers || {}) };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let res;
  try {
    res = await fetch((options.root ? '' : PREFIX) + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      signal: options.signal,
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, { code: 'network', message: 'The server cannot be reached. Check your connection.' });
  }
  let js = null;
  try {
    js = await res.json();
  } catch {
    js = null;
  }
  if (!res.ok || !js || js.success === false) {
    const err = new ApiError(res.status, js && js.error, res.headers.get('Retry-After'));
    if (res.status === 401 && !options.root) unauthorizedListeners.forEach((fn) => fn());
    throw err;
  }
  return js;
}
