/*
 * projects.js: the projects list: a debounced search (the API's ?q=) and
 * infinite scroll over the API's cursor pages.
 */

import { get, qs } from '../api.js';
import { h, field, input, clear, debounce } from '../dom.js';
import { icon } from '../icons.js';

export default async function projects(ctx) {
    ctx.title('Projects');
    const search = input({ type: 'search', name: 'q', autocomplete: 'off' });
    const list = h('ul', { class: 'cards', 'aria-live': 'polite' });
    const sentinel = h('div', { class: 'sentinel' });
    const status = h('p', { role: 'status', class: 'muted' });

    ctx.main.append(
        h('div', { class: 'head' },
            h('h1', {}, 'Projects'),
            h('a', { class: 'button primary', href: '/new' }, 'New project')),
        h('form', { role: 'search', onsubmit: (e) => e.preventDefault() },
            field('Search', search)),
        list, status, sentinel);

    let cursor = null;
    let done = false;
    let loading = false;
    let generation = 0;

    async function more() {
        if (loading || done) {
            return;
        }
        loading = true;
        const gen = generation;
        const q = search.value.trim();
        try {
            const page = await get('/api/v1/projects'
                + qs({ limit: 20, cursor, q }), ctx.signal);
            if (gen !== generation) {
                return;
            }
            for (const p of page.data) {
                list.append(h('li', { class: 'card' },
                    h('a', { href: `/projects/${p.id}`, class: 'title' },
                        icon(p.framework), p.name),
                    h('p', { class: 'muted' }, p.repo_url),
                    h('p', { class: 'muted' }, p.framework || p.kind,
                        ' · ', p.branch)));
            }
            cursor = page.next_cursor;
            done = !cursor;
            status.textContent = list.children.length
                ? '' : (q ? 'No project matches.' : 'No projects yet.');
        } finally {
            loading = false;
        }
        if (!done && sentinel.getBoundingClientRect().top < innerHeight) {
            more();
        }
    }

    search.addEventListener('input', debounce(() => {
        generation += 1;
        cursor = null;
        done = false;
        loading = false;
        clear(list);
        more();
    }, 250));

    const io = new IntersectionObserver((entries) => {
        if (entries.some((e) => e.isIntersecting)) {
            more();
        }
    });
    io.observe(sentinel);
    ctx.signal.addEventListener('abort', () => io.disconnect());
    await more();
}
