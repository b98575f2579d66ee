/* tokens.js: personal API tokens; a new token is shown once */

import { api, get } from '../api.js';
import {
    h, clear, field, input, select, showError, clearErrors, confirmDialog, when, thead,
} from '../dom.js';

export default async function tokens(ctx) {
    ctx.title('Tokens');
    const tbody = h('tbody');
    const name = input({ name: 'name', autocomplete: 'off' });
    const boxes = ['READ', 'WRITE', 'DELETE'].map((s) =>
        h('input', { type: 'checkbox', id: `scope-${s}`, value: s,
            checked: s !== 'DELETE' }));
    const expiry = select([['2592000', '30 days'], ['7776000', '90 days'],
        ['31536000', 'One year'], ['', 'Never']], '2592000', { name: 'expires_in' });
    const shown = h('div');
    const form = h('form', { class: 'card', novalidate: true },
        h('h2', {}, 'New token'),
        field('Name', name, 'name'),
        h('fieldset', { 'data-field': 'scopes' }, h('legend', {}, 'Scopes'),
            boxes.map((b) => h('span', { class: 'check' }, b,
                h('label', { for: b.id }, b.value)))),
        field('Expires', expiry, 'expires_in'),
        h('div', { class: 'actions' },
            h('button', { type: 'submit', class: 'primary' }, 'Create token')));

    async function load() {
        const page = await get('/api/v1/tokens?limit=100', ctx.signal);
        clear(tbody);
        for (const t of page.data) {
            tbody.append(h('tr', {}, h('td', {}, t.name),
                h('td', { class: 'mono' }, `${t.prefix}…`),
                h('td', {}, t.scopes.join(', ')),
                h('td', {}, t.expires_at ? when(t.expires_at) : 'never'),
                h('td', {}, t.last_used_at ? when(t.last_used_at) : 'never'),
                h('td', {}, h('button', { type: 'button', class: 'danger',
                    'aria-label': `Delete ${t.name}`,
                    onclick: async () => {
                        if (await confirmDialog('Delete', `Revoke the token ${t.name}?`,
                            'Delete')) {
                            await api('DELETE', `/api/v1/tokens/${t.id}`);
                            await load();
                        }
                    } }, 'Delete'))));
        }
    }

    form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        clearErrors(form);
        const body = { name: name.value.trim(),
            scopes: boxes.filter((b) => b.checked).map((b) => b.value) };
        if (expiry.value) {
            body.expires_in = Number(expiry.value);
        }
        try {
            const t = await api('POST', '/api/v1/tokens', body);
            const out = input({ readonly: true, value: t.token, class: 'mono' });
            clear(shown).append(h('div', { class: 'card notice', role: 'status' },
                h('p', {}, 'Your new token. It is shown only this once: copy it now.'),
                field(`Token ${t.name}`, out)));
            out.select();
            name.value = '';
            await load();
        } catch (e) {
            showError(form, e);
        }
    });

    ctx.main.append(h('h1', {}, 'Tokens'), shown,
        h('div', { class: 'scroll' }, h('table', {},
            thead(['Name', 'Token', 'Scopes', 'Expires', 'Last used', '']), tbody)),
        form);
    await load();
}
