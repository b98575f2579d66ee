/*
 * team.js: one team: its members (the owner removes them, a member
 * leaves), inviting by email, handing the ownership to a member.
 */

import { api, get, currentUser } from '../api.js';
import {
    h, clear, field, input, select, showError, clearErrors, confirmDialog, when, thead,
} from '../dom.js';

export default async function team(ctx) {
    const id = ctx.params.id;
    const base = `/api/v1/teams/${id}`;
    let t = await get(base, ctx.signal);
    ctx.title(t.name);
    const alert = h('div', { role: 'alert', class: 'error', hidden: true });
    const tbody = h('tbody');
    const heading = h('h1', {}, t.name);
    const me = currentUser();

    const email = input({ type: 'email', name: 'email' });
    const role = select([['member', 'Member'], ['owner', 'Owner']], 'member',
        { name: 'role' });
    const invite = h('form', { class: 'card', novalidate: true },
        h('h2', {}, 'Invite someone'),
        h('div', { class: 'row' }, field('Email', email, 'email'),
            field('Role', role, 'role')),
        h('p', { class: 'muted' }, 'The invitation waits in their Invitations for 7 days.'),
        h('div', { class: 'actions' },
            h('button', { type: 'submit', class: 'primary' }, 'Invite')));
    const sent = h('p', { role: 'status', class: 'muted' });

    function fail(e) {
        alert.hidden = false;
        alert.textContent = e.message;
    }

    function draw() {
        heading.textContent = t.name;
        clear(tbody);
        const owner = t.role === 'owner';
        for (const m of t.members) {
            const self = me && m.user_id === me.id;
            const cells = [];
            if (owner && !self) {
                cells.push(h('button', { type: 'button',
                    'aria-label': `Make ${m.email} the owner`,
                    onclick: async () => {
                        if (await confirmDialog('Hand over',
                            `Make ${m.email} the team's owner?`,
                            'Hand over')) {
                            api('POST', `${base}/transfer`, { user_id: m.user_id })
                                .then((x) => { t = x; draw(); }, fail);
                        }
                    } }, 'Make owner'));
            }
            if ((owner && !self) || (!owner && self)) {
                cells.push(h('button', { type: 'button', class: 'danger',
                    'aria-label': self ? 'Leave the team' : `Delete ${m.email}`,
                    onclick: async () => {
                        if (await confirmDialog('Remove', self ? 'Leave this team?'
                            : `Remove ${m.email} from the team?`, 'Delete')) {
                            api('DELETE', `${base}/members/${m.user_id}`).then(() => {
                                if (self) {
                                    ctx.navigate('/teams');
                                } else {
                                    get(base).then((x) => { t = x; draw(); }, fail);
                                }
                            }, fail);
                        }
                    } }, self ? 'Leave' : 'Delete'));
            }
            tbody.append(h('tr', {}, h('td', {}, m.name || ''), h('td', {}, m.email),
                h('td', {}, m.role), h('td', {}, when(m.joined_at)),
                h('td', { class: 'actions' }, cells)));
        }
        invite.hidden = !owner;
    }

    invite.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        clearErrors(invite);
        try {
            const i = await api('POST', `${base}/invitations`,
                { email: email.value.trim(), role: role.value });
            sent.textContent = `Invitation sent to ${i.email}.`;
            email.value = '';
        } catch (e) {
            if (!e.field && (e.code === 'already_member' || e.code === 'invitation_exists')) {
                e.field = 'email';
            }
            showError(invite, e);
        }
    });

    ctx.main.append(h('p', { class: 'crumbs' }, h('a', { href: '/teams' }, 'Teams')),
        heading, alert,
        h('div', { class: 'scroll' }, h('table', {},
            thead(['Name', 'Email', 'Role', 'Joined', '']), tbody)),
        invite, sent);
    draw();
}
