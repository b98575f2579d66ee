/* teams.js: the caller's teams, and making one */

import { api, get } from '../api.js';
import { h, field, input, showError, clearErrors } from '../dom.js';

export default async function teams(ctx) {
    ctx.title('Teams');
    const name = input({ name: 'name', autocomplete: 'off' });
    const form = h('form', { class: 'card', novalidate: true },
        h('h2', {}, 'New team'), field('Name', name, 'name'),
        h('div', { class: 'actions' },
            h('button', { type: 'submit', class: 'primary' }, 'Create team')));
    const list = h('ul', { class: 'cards' });

    form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        clearErrors(form);
        try {
            const t = await api('POST', '/api/v1/teams', { name: name.value.trim() });
            ctx.navigate(`/teams/${t.id}`);
        } catch (e) {
            showError(form, e);
        }
    });

    ctx.main.append(h('h1', {}, 'Teams'), list, form);
    let cursor = null;
    do {
        const page = await get('/api/v1/teams?limit=100'
            + (cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''), ctx.signal);
        for (const t of page.data) {
            list.append(h('li', { class: 'card' },
                h('a', { href: `/teams/${t.id}`, class: 'title' }, t.name),
                h('p', { class: 'muted' }, `You are its ${t.role}`)));
        }
        cursor = page.next_cursor;
    } while (cursor);
    if (!list.children.length) {
        list.append(h('li', { class: 'muted' }, 'You are in no team yet.'));
    }
}
