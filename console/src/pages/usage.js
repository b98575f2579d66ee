/*
 * usage.js: what a project's app uses (GET /projects/{id}/usage): the
 * numbers of the window and a chart for each series, refreshed every
 * 30 s while the page is open.  A static project has no app: it says so.
 */

import { get } from '../api.js';
import { h, clear, field, select, when } from '../dom.js';
import { chart, bytes } from '../chart.js';
import tabs from './projecttabs.js';

const WINDOWS = [['3600', 'Last hour'], ['86400', 'Last 24 hours'],
    ['604800', 'Last 7 days']];
const REFRESH_MS = 30000;

const count = (n) => String(Math.round(Number(n) || 0));
const seconds = (n) => `${(Number(n) || 0).toFixed(1)} s`;

function stat(label, value) {
    return h('div', { class: 'stat' }, h('dt', {}, label), h('dd', {}, value));
}

function stats(u) {
    const c = u.current;
    const t = u.totals;
    return h('dl', { class: 'stats', 'aria-label': 'Totals' },
        stat('State', c ? c.state : 'no app yet'),
        stat('Memory now', c ? bytes(c.memory_bytes) : '–'),
        stat('Memory peak', bytes(t.memory_peak_bytes)),
        stat('CPU', seconds(t.cpu_seconds)),
        stat('Requests', count(t.requests)),
        stat('Cold starts', count(t.wakes)),
        stat('Restarts', count(t.restarts)),
        stat('OOM kills', count(t.oom_kills)));
}

function charts(u) {
    const p = u.points;
    return h('div', { class: 'charts' },
        chart('Memory', p, 'memory_bytes', bytes,
            (s) => `peak ${bytes(s.peak)}`),
        chart('Requests', p, 'requests', count,
            (s) => `${count(s.total)} in all, at most ${count(s.peak)} a sample`),
        chart('CPU', p, 'cpu_seconds', seconds,
            (s) => `${seconds(s.total)} in all`),
        chart('Cold starts and restarts', p, 'wakes', count,
            (s) => `${count(s.total)} cold starts`));
}

export default async function usage(ctx) {
    const id = ctx.params.id;
    const p = await get(`/api/v1/projects/${id}`, ctx.signal);
    ctx.title(`Usage of ${p.name}`);

    const win = select(WINDOWS, '3600', { name: 'window' });
    const body = h('div', { 'aria-live': 'polite' });

    async function load() {
        const since = new Date(Date.now() - Number(win.value) * 1000)
            .toISOString().replace(/\.\d+Z$/, 'Z');
        const u = await get(`/api/v1/projects/${id}/usage?since=${since}`,
            ctx.signal);
        clear(body);
        if (!u.current && !u.points.length) {
            body.append(h('p', { class: 'muted' }, p.kind === 'static'
                ? 'A static site runs no app: nginx serves its files.'
                : 'No sample yet: the app has not run in this window.'));
            return;
        }
        body.append(stats(u), charts(u),
            h('p', { class: 'muted' }, `Since ${when(u.since)}; sampled by `
                + 'shipoffd about every 30 s.'));
    }

    win.addEventListener('change', () => load().catch(() => {}));
    const timer = setInterval(() => load().catch(() => {}), REFRESH_MS);
    ctx.signal.addEventListener('abort', () => clearInterval(timer));

    ctx.main.append(h('h1', {}, `Usage of ${p.name}`), tabs(p, 'Usage'),
        h('div', { class: 'row' }, field('Window', win, 'since')), body);
    await load();
}
