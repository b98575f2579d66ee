/*
 * deploy.js: what may be done to a deployment in its state (the state
 * machine of docs/API.md, Deployments): each action is a button, disabled
 * with the rule as its title when the state does not allow it.
 */

import { api } from './api.js';
import { h, confirmDialog } from './dom.js';

export const FINAL = ['PRODUCTION', 'FAILED', 'CANCELED', 'INACTIVE'];
const OVER = ['FAILED', 'INACTIVE', 'CANCELED'];

export const ACTIONS = [
    {
        label: 'Redeploy', path: 'redeploy', method: 'POST',
        allowed: (d) => OVER.includes(d.state),
        rule: 'Only a FAILED, INACTIVE or CANCELED deployment can be redeployed.',
    },
    {
        label: 'Roll back', path: 'promote', method: 'POST',
        allowed: (d) => d.state === 'INACTIVE' && d.artifact_kept,
        rule: 'Only an INACTIVE deployment whose build is kept can be put back'
            + ' in production.',
    },
    {
        label: 'Cancel deployment', path: 'cancel', method: 'POST',
        allowed: (d) => d.state === 'QUEUED' || d.state === 'BUILDING',
        rule: 'Only a QUEUED or BUILDING deployment can be canceled.',
    },
    {
        label: 'Delete', path: '', method: 'DELETE',
        allowed: (d) => OVER.includes(d.state),
        rule: 'Only a FAILED, INACTIVE or CANCELED deployment can be deleted;'
            + ' promote another one first.',
        confirm: 'Delete this deployment and its log?',
    },
];

/*
 * The buttons for deployment d; done(action, answer) after one succeeds,
 * fail(error) when the API refuses.
 */
export function actionButtons(d, done, fail) {
    return ACTIONS.map((a) => {
        const ok = a.allowed(d);
        const b = h('button', {
            type: 'button',
            class: a.method === 'DELETE' ? 'danger' : null,
            disabled: !ok,
            title: ok ? null : a.rule,
        }, a.label);
        b.addEventListener('click', async () => {
            if (a.confirm && !(await confirmDialog(a.label, a.confirm, a.label))) {
                return;
            }
            b.disabled = true;
            try {
                const path = `/api/v1/deployments/${d.id}${a.path ? '/' + a.path : ''}`;
                done(a, await api(a.method, path));
            } catch (e) {
                b.disabled = false;
                fail(e);
            }
        });
        return b;
    });
}
