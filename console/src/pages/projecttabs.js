/* projecttabs.js: the tabs every page of one project shows */

import { h } from '../dom.js';

export default function tabs(p, current) {
    const t = (href, label) => h('a', {
        href, 'aria-current': label === current ? 'page' : null,
    }, label);
    return h('nav', { class: 'tabs', 'aria-label': 'Project' },
        t(`/projects/${p.id}`, 'Deployments'),
        t(`/projects/${p.id}/env`, 'Environment'),
        t(`/projects/${p.id}/usage`, 'Usage'),
        t(`/projects/${p.id}/access`, 'Access'));
}
