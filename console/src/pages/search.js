/*
 * search.js: full-text search of a project's logs (the API's
 * GET /api/v1/projects/{id}/logs?q=), every deployment at once.
 */

import { get, qs } from '../api.js';
import { h, clear, field, input, select, showError, clearErrors, when } from '../dom.js';
import { ansiNodes } from '../ansi.js';

export default async function search(ctx) {
    ctx.title('Log search');
    const projects = (await get('/api/v1/projects?limit=100', ctx.signal)).data;
    const params = new URLSearchParams(location.search);
    const project = select(projects.map((p) => [p.id, p.name]),
        params.get('project') || undefined, { name: 'project' });
    const q = input({ type: 'search', name: 'q', value: params.get('q') || '' });
    const results = h('ol', { class: 'results' });
    const status = h('p', { role: 'status', class: 'muted' });
    const form = h('form', { class: 'card', role: 'search', novalidate: true },
        h('div', { class: 'row' }, field('Project', project, 'project'),
            field('Search', q, 'q',
                'Words, "a phrase", -word, or: PostgreSQL full text.')),
        h('div', { class: 'actions' },
            h('button', { type: 'submit', class: 'primary' }, 'Search logs')));

    async function run() {
        clearErrors(form);
        clear(results);
        if (!project.value || !q.value.trim()) {
            return;
        }
        history.replaceState(null, '', '/search'
            + qs({ project: project.value, q: q.value.trim() }));
        try {
            const r = await get(`/api/v1/projects/${project.value}/logs`
                + qs({ q: q.value.trim(), limit: 200 }), ctx.signal);
            for (const l of r.data) {
                results.append(h('li', {},
                    h('a', { href: `/deployments/${l.deployment_id}` },
                        `#${l.deployment_id}`),
                    ' ', h('span', { class: 'muted' }, when(l.at)), ' ',
                    h('code', {}, ansiNodes(l.line))));
            }
            status.textContent = r.data.length
                ? `${r.data.length} line${r.data.length > 1 ? 's' : ''}`
                    + (r.next ? ' (first 200)' : '')
                : 'No line matches.';
        } catch (e) {
            showError(form, e);
        }
    }

    form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        run();
    });

    ctx.main.append(h('h1', {}, 'Log search'),
        projects.length ? form : h('p', {}, 'No project to search yet.'),
        status, results);
    await run();
}
