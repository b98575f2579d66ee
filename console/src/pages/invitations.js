/* invitations.js: the inbox: team invitations and project offers */

import { api, get } from '../api.js';
import { h, clear, when } from '../dom.js';

export default async function invitations(ctx) {
    ctx.title('Invitations');
    const list = h('ul', { class: 'cards' });
    const status = h('p', { role: 'status', class: 'muted' });

    async function load() {
        const page = await get('/api/v1/invitations?limit=100', ctx.signal);
        clear(list);
        for (const i of page.data) {
            const what = i.kind === 'team'
                ? `Join the team ${i.team.name} as ${i.role}`
                : `Take over the project ${i.project.name}`
                    + (i.to && i.to.type === 'team' ? ` for the team ${i.to.name}` : '');
            const answer = (verb) => async () => {
                try {
                    await api('POST', `/api/v1/invitations/${i.id}/${verb}`);
                    status.textContent = verb === 'accept'
                        ? `Accepted: ${what}.` : `Declined: ${what}.`;
                } catch (e) {
                    status.textContent = e.message;
                }
                await load();
            };
            list.append(h('li', { class: 'card' },
                h('p', { class: 'title' }, what),
                h('p', { class: 'muted' }, `Expires ${when(i.expires_at)}`),
                h('div', { class: 'actions' },
                    h('button', { type: 'button', class: 'primary',
                        onclick: answer('accept') }, 'Accept'),
                    h('button', { type: 'button', onclick: answer('decline') },
                        'Decline'))));
        }
        if (!page.data.length) {
            list.append(h('li', { class: 'muted' }, 'No invitation waits for you.'));
        }
    }

    ctx.main.append(h('h1', {}, 'Invitations'), status, list);
    await load();
}
