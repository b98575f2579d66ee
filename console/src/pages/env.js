/*
 * env.js: a project's environment variables.  A secret's value is never
 * shown (the API never returns it): "••••••" stands for it after save.
 */

import { api, get } from '../api.js';
import {
    h, clear, field, input, select, showError, clearErrors, confirmDialog, when, thead,
} from '../dom.js';
import { parseDotenv } from '../dotenv.js';
import tabs from './projecttabs.js';

export default async function env(ctx) {
    const id = ctx.params.id;
    const p = await get(`/api/v1/projects/${id}`, ctx.signal);
    ctx.title(`Environment of ${p.name}`);
    const base = `/api/v1/projects/${id}/env`;

    const tbody = h('tbody');
    const key = input({ name: 'key', class: 'mono', autocomplete: 'off' });
    const value = h('textarea', { name: 'value', rows: 1, class: 'mono' });
    const secret = h('input', { type: 'checkbox', name: 'secret', checked: true });
    const target = select([['both', 'Build and runtime'], ['runtime', 'Runtime'],
        ['build', 'Build']], 'both', { name: 'target' });
    const form = h('form', { class: 'card', novalidate: true },
        h('h2', {}, 'Add or replace a variable'),
        h('div', { class: 'row' },
            field('Key', key, 'key'), field('Value', value, 'value'),
            field('Target', target, 'target')),
        h('div', { class: 'check' }, secret,
            h('label', { for: secret.id = 'env-secret' },
                'Secret (never shown again, not given to builds)')),
        h('div', { class: 'actions' },
            h('button', { type: 'submit', class: 'primary' }, 'Save')));
    const dotenv = h('textarea', { name: 'dotenv', rows: 5, class: 'mono' });
    const paste = h('form', { class: 'card', novalidate: true },
        field('Paste a .env file', dotenv, 'dotenv',
            'Each KEY=value line is saved, as secrets when Secret is checked.'),
        h('div', { class: 'actions' },
            h('button', { type: 'submit' }, 'Import')));

    async function load() {
        const r = await get(base, ctx.signal);
        clear(tbody);
        for (const v of r.data) {
            tbody.append(h('tr', {},
                h('td', { class: 'mono' }, v.key),
                h('td', { class: 'mono' }, v.secret ? '••••••' : v.value),
                h('td', {}, v.target),
                h('td', {}, when(v.updated_at)),
                h('td', {}, h('button', {
                    type: 'button', class: 'danger',
                    'aria-label': `Delete ${v.key}`,
                    onclick: async () => {
                        if (await confirmDialog('Delete', `Delete ${v.key}?`, 'Delete')) {
                            await api('DELETE', `${base}/${encodeURIComponent(v.key)}`);
                            await load();
                        }
                    },
                }, 'Delete'))));
        }
        if (!r.data.length) {
            tbody.append(h('tr', {}, h('td', { colspan: 5, class: 'muted' },
                'No variable yet.')));
        }
    }

    async function put(k, v) {
        await api('PUT', `${base}/${encodeURIComponent(k)}`,
            { value: v, secret: secret.checked, target: target.value });
    }

    form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        clearErrors(form);
        try {
            if (!key.value.trim()) {
                throw { field: 'key', message: 'The key is required.' };
            }
            await put(key.value.trim(), value.value);
            key.value = value.value = '';
            await load();
            key.focus();
        } catch (e) {
            showError(form, e);
        }
    });

    paste.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        clearErrors(paste);
        const vars = parseDotenv(dotenv.value);
        try {
            for (const v of vars) {
                await put(v.key, v.value);
            }
            dotenv.value = '';
        } catch (e) {
            e.field = 'dotenv';
            showError(paste, e);
        }
        await load();
    });

    ctx.main.append(h('h1', {}, `Environment of ${p.name}`), tabs(p, 'Environment'),
        h('div', { class: 'scroll' }, h('table', {},
            thead(['Key', 'Value', 'Target', 'Updated', '']),
            tbody)),
        form, paste);
    await load();
}
