/*
 * app.js: the console's shell.  A History API router maps each path of
 * the contract (docs/CONSOLE.md) to a page module, loaded when first
 * visited; the shell gives every page its <title>, one <h1>, the
 * navigation, the theme toggle and a "Skip to content" link.
 */

import * as session from './api.js';
import { h, clear } from './dom.js';
import { initTheme, toggleTheme } from './theme.js';

const routes = [
    ['/signin', 'signin', true],
    ['/signup', 'signup', true],
    ['/projects', 'projects'],
    ['/new', 'new'],
    ['/projects/:id', 'project'],
    ['/projects/:id/env', 'env'],
    ['/projects/:id/access', 'access'],
    ['/projects/:id/usage', 'usage'],
    ['/deployments/:id', 'deployment'],
    ['/teams', 'teams'],
    ['/teams/:id', 'team'],
    ['/invitations', 'invitations'],
    ['/tokens', 'tokens'],
    ['/search', 'search'],
];

let leave = null;

function match(path) {
    const parts = path.replace(/\/+$/, '').split('/');
    for (const [pattern, page, open] of routes) {
        const want = pattern.split('/');
        if (want.length !== parts.length) {
            continue;
        }
        const params = {};
        const ok = want.every((w, i) => {
            if (w === ':id') {
                params.id = parts[i];
                return /^[0-9]{1,18}$/.test(parts[i]);
            }
            return w === parts[i];
        });
        if (ok) {
            return { page, params, open: !!open };
        }
    }
    return null;
}

export function navigate(path, replace) {
    if (replace) {
        history.replaceState(null, '', path);
    } else {
        history.pushState(null, '', path);
    }
    render();
}

function navLink(href, label) {
    const here = location.pathname === href
        || location.pathname.startsWith(href + '/');
    return h('a', { href, 'aria-current': here ? 'page' : null }, label);
}

function header() {
    const nav = h('nav', { 'aria-label': 'Main' });
    if (session.signedIn()) {
        nav.append(
            navLink('/projects', 'Projects'),
            navLink('/teams', 'Teams'),
            navLink('/invitations', 'Invitations'),
            navLink('/tokens', 'Tokens'),
            navLink('/search', 'Log search'),
            h('a', { href: '/docs/' }, 'Docs'));
    } else {
        nav.append(h('a', { href: '/docs/' }, 'Docs'));
    }
    const tools = h('div', { class: 'tools' },
        h('button', { type: 'button', class: 'ghost', onclick: toggleTheme },
            'Toggle theme'));
    if (session.signedIn()) {
        const u = session.currentUser();
        tools.append(
            h('span', { class: 'who' }, u ? u.email : ''),
            h('button', {
                type: 'button', class: 'ghost',
                onclick: async () => {
                    await session.signout();
                    navigate('/signin');
                },
            }, 'Sign out'));
    }
    return h('header', { class: 'top' },
        h('a', { class: 'brand', href: session.signedIn() ? '/projects' : '/signin' },
            'Shipoff'),
        nav, tools);
}

async function render() {
    if (leave) {
        leave.abort();
    }
    leave = new AbortController();
    const signal = leave.signal;

    let path = location.pathname;
    if (path === '/' || path === '') {
        path = session.signedIn() ? '/projects' : '/signin';
        history.replaceState(null, '', path);
    }
    let m = match(path);
    if (m && !m.open && !session.signedIn()) {
        const back = location.pathname + location.search;
        history.replaceState(null, '', `/signin?next=${encodeURIComponent(back)}`);
        m = match('/signin');
    } else if (m && m.open && session.signedIn()) {
        history.replaceState(null, '', '/projects');
        m = match('/projects');
    }

    const root = document.getElementById('app');
    const main = h('main', { id: 'main', tabindex: '-1' });
    clear(root).append(
        h('a', { class: 'skip', href: '#main' }, 'Skip to content'),
        header(), main);

    const ctx = {
        main,
        params: m ? m.params : {},
        signal,
        navigate,
        title(t) {
            document.title = `${t} · Shipoff`;
        },
    };

    if (!m) {
        ctx.title('Not found');
        main.append(h('h1', {}, 'Not found'),
            h('p', {}, 'There is no such page. '),
            h('a', { href: '/projects' }, 'Back to the projects'));
        return;
    }
    try {
        const mod = await import(`./pages/${m.page}.js`);
        if (!signal.aborted) {
            await mod.default(ctx);
        }
    } catch (e) {
        if (signal.aborted || e.name === 'AbortError') {
            return;
        }
        if (e.status === 404) {
            ctx.title('Not found');
            clear(main).append(h('h1', {}, 'Not found'),
                h('p', {}, e.message));
            return;
        }
        main.append(h('div', { class: 'error', role: 'alert' },
            e.message || String(e)));
    }
}

/* same-origin links stay in the page, except what nginx serves itself */
function onClick(ev) {
    const a = ev.target.closest('a');
    if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey
        || ev.ctrlKey || ev.shiftKey || ev.altKey || a.target
        || a.hasAttribute('download') || a.origin !== location.origin)
    {
        return;
    }
    if (/^\/(api|auth|hooks|docs|_shipoff)\//.test(a.pathname)
        || a.pathname === '/docs')
    {
        return;
    }
    if (a.hash && a.pathname === location.pathname) {
        return;
    }
    ev.preventDefault();
    navigate(a.pathname + a.search);
}

async function boot() {
    initTheme();
    session.setUnauthorizedHandler(() => {
        if (!location.pathname.startsWith('/sign')) {
            navigate('/signin', true);
        }
    });
    document.addEventListener('click', onClick);
    window.addEventListener('popstate', render);
    /* another tab signed out */
    window.addEventListener('storage', (e) => {
        if (e.key === 'shipoff.refresh' && e.newValue === null) {
            session.forget();
            render();
        }
    });
    await session.refresh();
    render();
}

boot();
