/*
 * project.js: a project and its deployments, newest first, with live state
 * badges (polled while one is not final) and the actions each allows.
 */

import { api, get, qs } from '../api.js';
import { h, clear, badge, when, duration, thead } from '../dom.js';
import { icon } from '../icons.js';
import { actionButtons, FINAL } from '../deploy.js';
import tabs from './projecttabs.js';

export default async function project(ctx) {
    const id = ctx.params.id;
    const p = await get(`/api/v1/projects/${id}`, ctx.signal);
    ctx.title(p.name);

    const alert = h('div', { role: 'alert', class: 'error', hidden: true });
    const tbody = h('tbody');
    const more = h('button', { type: 'button', hidden: true }, 'Load more');
    const deploy = h('button', { type: 'button', class: 'primary' }, 'Deploy');
    let rows = [];
    let cursor = null;

    function fail(e) {
        alert.hidden = false;
        alert.textContent = e.message;
    }

    function row(d) {
        return h('tr', {},
            h('td', {}, h('a', { href: `/deployments/${d.id}` }, `#${d.id}`)),
            h('td', {}, badge(d.state)),
            h('td', { class: 'mono' }, d.commit ? d.commit.slice(0, 7) : d.branch,
                d.commit_message ? h('span', { class: 'muted' }, ' ',
                    d.commit_message.split('\n')[0].slice(0, 60)) : null),
            h('td', {}, d.trigger),
            h('td', {}, duration(d.started_at, d.finished_at)),
            h('td', {}, d.reason),
            h('td', {}, when(d.created_at)),
            h('td', { class: 'actions' }, actionButtons(d, () => refresh(), fail)));
    }

    function draw() {
        clear(tbody);
        for (const d of rows) {
            tbody.append(row(d));
        }
        if (!rows.length) {
            tbody.append(h('tr', {}, h('td', { colspan: 8, class: 'muted' },
                'No deployment yet: press Deploy.')));
        }
        more.hidden = !cursor;
    }

    async function refresh() {
        const page = await get(`/api/v1/projects/${id}/deployments`
            + qs({ limit: Math.max(20, rows.length) }), ctx.signal);
        rows = page.data;
        cursor = page.next_cursor;
        draw();
    }

    more.addEventListener('click', async () => {
        const page = await get(`/api/v1/projects/${id}/deployments`
            + qs({ limit: 20, cursor }), ctx.signal);
        rows = rows.concat(page.data);
        cursor = page.next_cursor;
        draw();
    });

    deploy.addEventListener('click', async () => {
        deploy.disabled = true;
        alert.hidden = true;
        try {
            const d = await api('POST', `/api/v1/projects/${id}/deployments`, {});
            ctx.navigate(`/deployments/${d.id}`);
        } catch (e) {
            fail(e);
        } finally {
            deploy.disabled = false;
        }
    });

    ctx.main.append(
        h('div', { class: 'head' },
            h('h1', {}, icon(p.framework), p.name),
            h('div', { class: 'actions' },
                h('a', { class: 'button', href: p.url, target: '_blank',
                    rel: 'noopener noreferrer' }, 'Visit'),
                deploy)),
        h('p', { class: 'muted' }, p.repo_url, ' · ', p.branch,
            p.root_dir ? ` · ${p.root_dir}` : '',
            ' · ', p.url),
        tabs(p, 'Deployments'),
        alert,
        h('div', { class: 'scroll' },
            h('table', {},
                h('caption', { class: 'sr-only' }, 'Deployments, newest first'),
                thead(['Id', 'State', 'Commit', 'Trigger', 'Duration', 'Reason',
                    'Created', 'Actions']),
                tbody)),
        more);

    await refresh();
    const timer = setInterval(() => {
        if (rows.some((d) => !FINAL.includes(d.state)) && !document.hidden) {
            refresh().catch(() => {});
        }
    }, 2000);
    ctx.signal.addEventListener('abort', () => clearInterval(timer));
}
