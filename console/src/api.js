/*
 * api.js: the console's only way to the server, the REST API on the same
 * origin.  Where the credentials live (docs/CONSOLE.md): the access token
 * only in this module's memory; the refresh token in localStorage of the
 * console's origin, which a site on another origin (the apps domain)
 * cannot read.  A page load trades the refresh token for a new pair
 * (single use: the auth service rotates it), under a Web Lock so that two
 * tabs never present the same one (that would revoke the whole family).
 */

const KEY = 'shipoff.refresh';

let access = null;
let user = null;
let refreshing = null;

export class ApiError extends Error {
    constructor(status, body) {
        const e = (body && body.error) || {};
        super(e.message || `the server answered ${status}`);
        this.status = status;
        this.code = e.code || 'http_' + status;
        this.field = e.field || null;
        this.body = body;
    }
}

export function currentUser() {
    return user;
}

export function signedIn() {
    return access !== null;
}

export function accessToken() {
    return access;
}

function keep(session) {
    access = session.access_token;
    user = session.user;
    localStorage.setItem(KEY, session.refresh_token);
}

export function forget() {
    access = null;
    user = null;
    localStorage.removeItem(KEY);
}

async function parse(res) {
    if (res.status === 204) {
        return null;
    }
    const text = await res.text();
    try {
        return text ? JSON.parse(text) : null;
    } catch {
        return { error: { message: text.slice(0, 200) } };
    }
}

async function post(path, body) {
    const res = await fetch(path, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
        credentials: 'same-origin',
    });
    const data = await parse(res);
    if (!res.ok) {
        throw new ApiError(res.status, data);
    }
    return data;
}

export async function signin(email, password) {
    keep(await post('/auth/v1/login', { email, password }));
}

/* the end of a GitHub or Google login: the callback left the session in
 * a cookie only this POST reads (docs/API.md, OAuth login) */
export async function finishOAuth() {
    keep(await post('/auth/v1/oauth/finish', {}));
}

export async function signup(email, password, name) {
    const body = { email, password };
    if (name) {
        body.name = name;
    }
    keep(await post('/auth/v1/signup', body));
}

export async function signout() {
    const rt = localStorage.getItem(KEY);
    forget();
    if (rt) {
        try {
            await post('/auth/v1/logout', { refresh_token: rt });
        } catch {
            /* the session is forgotten here whatever the server says */
        }
    }
}

async function refreshLocked() {
    const rt = localStorage.getItem(KEY);
    if (!rt) {
        access = null;
        return false;
    }
    try {
        keep(await post('/auth/v1/refresh', { refresh_token: rt }));
        return true;
    } catch (e) {
        if (e.status === 401 && localStorage.getItem(KEY) === rt) {
            forget();
        }
        return false;
    }
}

/* one refresh at a time, in this tab and across the console's tabs */
export function refresh() {
    if (!refreshing) {
        const run = navigator.locks
            ? navigator.locks.request(KEY, refreshLocked)
            : refreshLocked();
        refreshing = run.finally(() => {
            refreshing = null;
        });
    }
    return refreshing;
}

export async function providers() {
    try {
        const res = await fetch('/auth/v1/providers');
        return res.ok ? await res.json() : {};
    } catch {
        return {};
    }
}

let onUnauthorized = () => {};

export function setUnauthorizedHandler(fn) {
    onUnauthorized = fn;
}

/* fetch with the access token; one refresh and retry on a 401 */
export async function raw(path, opts = {}) {
    for (let attempt = 0; ; attempt++) {
        const headers = Object.assign({}, opts.headers || {});
        if (access) {
            headers.Authorization = `Bearer ${access}`;
        }
        const res = await fetch(path, Object.assign({}, opts, { headers }));
        if (res.status !== 401 || attempt > 0) {
            if (res.status === 401) {
                forget();
                onUnauthorized();
            }
            return res;
        }
        if (!(await refresh())) {
            onUnauthorized();
            return res;
        }
    }
}

export async function api(method, path, body, signal) {
    const opts = { method, signal };
    if (body !== undefined) {
        opts.headers = { 'Content-Type': 'application/json' };
        opts.body = JSON.stringify(body);
    }
    const res = await raw(path, opts);
    const data = await parse(res);
    if (!res.ok) {
        throw new ApiError(res.status, data);
    }
    return data;
}

export const get = (path, signal) => api('GET', path, undefined, signal);

export function qs(params) {
    const u = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
        if (v !== null && v !== undefined && v !== '') {
            u.set(k, v);
        }
    }
    const s = u.toString();
    return s ? `?${s}` : '';
}
