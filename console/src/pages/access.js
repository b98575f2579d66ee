/*
 * access.js: who may work on a project (direct grants, linked teams) and
 * handing it over: a transfer is an offer the receiver accepts.
 */

import { api, get } from '../api.js';
import {
    h, clear, field, input, select, showError, clearErrors,
} from '../dom.js';
import tabs from './projecttabs.js';

const ROLES = [['READ', 'Read'], ['WRITE', 'Read and write'],
    ['DELETE', 'Read, write and delete']];

function scopes(role) {
    return role === 'READ' ? ['READ']
        : role === 'WRITE' ? ['READ', 'WRITE'] : ['READ', 'WRITE', 'DELETE'];
}

/* a form that grants someone (who: a field) rights (a field) */
function grantForm(title, who, rights, button) {
    return h('form', { class: 'card', novalidate: true },
        h('h2', {}, title),
        h('div', { class: 'row' }, who, rights),
        h('div', { class: 'actions' }, h('button', { type: 'submit' }, button)));
}

export default async function access(ctx) {
    const id = ctx.params.id;
    const p = await get(`/api/v1/projects/${id}`, ctx.signal);
    ctx.title(`Access to ${p.name}`);
    const base = `/api/v1/projects/${id}`;
    const listBox = h('div');
    const offerBox = h('div');
    const alert = h('div', { role: 'alert', class: 'error', hidden: true });
    let teams = [];
    try {
        teams = (await get('/api/v1/teams?limit=100', ctx.signal)).data;
    } catch {
        teams = [];
    }

    const email = input({ type: 'email', name: 'email' });
    const role = select(ROLES, 'WRITE', { name: 'role' });
    const memberForm = grantForm('Add a person', field('Email', email, 'email'),
        field('Role', role, 'scopes'), 'Add person');

    const team = select(teams.map((t) => [t.id, t.name]), undefined, { name: 'team' });
    const teamRole = select(ROLES, 'WRITE', { name: 'team_role' });
    const teamForm = grantForm('Add a team', field('Team', team, 'team_id'),
        field('Rights', teamRole, 'scopes'), 'Add team');

    const to = select([], undefined, { name: 'to' });
    const transferForm = h('form', { class: 'card', novalidate: true },
        h('h2', {}, 'Transfer ownership'),
        h('p', { class: 'muted' }, 'The new owner gets an offer in their invitations; '
            + 'nothing changes until they accept it.'),
        field('New owner', to, 'user_id'),
        h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'danger' },
            'Transfer')));

    function fail(e) {
        alert.hidden = false;
        alert.textContent = e.message;
    }

    async function load() {
        const a = await get(`${base}/access`, ctx.signal);
        const rows = [];
        for (const m of a.members) {
            rows.push(h('li', {}, `${m.name || m.email} <${m.email}>: `,
                m.scopes.join(', '), ' ',
                h('button', { type: 'button', class: 'danger',
                    'aria-label': `Delete ${m.email}`,
                    onclick: () => api('DELETE', `${base}/members/${m.user_id}`)
                        .then(load, fail) }, 'Delete')));
        }
        for (const t of a.teams) {
            rows.push(h('li', {}, `Team ${t.name}: `, t.scopes.join(', '), ' ',
                h('button', { type: 'button', class: 'danger',
                    'aria-label': `Delete team ${t.name}`,
                    onclick: () => api('DELETE', `${base}/teams/${t.team_id}`)
                        .then(load, fail) }, 'Delete')));
        }
        clear(listBox).append(rows.length ? h('ul', { class: 'plain' }, rows)
            : h('p', { class: 'muted' }, 'Only the owner works on this project.'));

        clear(to);
        for (const m of a.members) {
            to.append(h('option', { value: `user:${m.user_id}` }, m.email));
        }
        for (const t of teams) {
            to.append(h('option', { value: `team:${t.id}` }, `Team ${t.name}`));
        }

        clear(offerBox);
        try {
            const o = await get(`${base}/transfer`, ctx.signal);
            const who = o.to.type === 'team' ? `team ${o.to.name}` : o.to.email;
            offerBox.append(h('p', { class: 'card' },
                `Offered to ${who} until ${new Date(o.expires_at).toLocaleDateString()}. `,
                h('button', { type: 'button', onclick: () =>
                    api('DELETE', `${base}/transfer`).then(load, fail) },
                'Withdraw the offer')));
        } catch {
            /* no pending offer, or not the owner */
        }
    }

    memberForm.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        clearErrors(memberForm);
        try {
            await api('POST', `${base}/members`,
                { email: email.value.trim(), scopes: scopes(role.value) });
            email.value = '';
            await load();
        } catch (e) {
            if (e.status === 404 && !e.field) {
                e.field = 'email';
                e.message = 'No account with a verified email has this address.';
            }
            showError(memberForm, e);
        }
    });

    teamForm.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        clearErrors(teamForm);
        try {
            await api('POST', `${base}/teams`,
                { team_id: Number(team.value), scopes: scopes(teamRole.value) });
            await load();
        } catch (e) {
            showError(teamForm, e);
        }
    });

    transferForm.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        clearErrors(transferForm);
        const [kind, target] = to.value.split(':');
        if (!target) {
            showError(transferForm, { field: 'user_id',
                message: 'Add the person or join the team first.' });
            return;
        }
        try {
            await api('POST', `${base}/transfer`,
                { [kind === 'team' ? 'team_id' : 'user_id']: Number(target) });
            await load();
        } catch (e) {
            showError(transferForm, e);
        }
    });

    ctx.main.append(h('h1', {}, `Access to ${p.name}`), tabs(p, 'Access'), alert,
        h('h2', {}, 'People and teams'), listBox, memberForm,
        teams.length ? teamForm : null, offerBox, transferForm);
    await load();
}
