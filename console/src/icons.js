/*
 * icons.js: a small mark per framework (its initials on its brand colour),
 * drawn as SVG elements: no image request, no inline style.
 */

const marks = {
    next: ['N', '#111111'], nest: ['Ne', '#e0234e'], angular: ['A', '#dd0031'],
    'create-react-app': ['R', '#149eca'], vite: ['V', '#646cff'],
    vue: ['V', '#42b883'], svelte: ['S', '#ff3e00'], fastify: ['F', '#202020'],
    express: ['ex', '#353535'], django: ['dj', '#0c4b33'],
    fastapi: ['FA', '#009688'], flask: ['Fl', '#3a3a3a'],
    starlette: ['St', '#4b2e83'],
    laravel: ['L', '#ff2d20'], symfony: ['sf', '#1a171b'], php: ['php', '#777bb3'],
};

const NS = 'http://www.w3.org/2000/svg';

export function icon(framework) {
    const [text, colour] = marks[framework] || ['·', '#8a8f98'];
    const svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('class', 'fw-icon');
    svg.setAttribute('aria-hidden', 'true');
    const c = document.createElementNS(NS, 'rect');
    for (const [k, v] of [['width', 24], ['height', 24], ['rx', 6], ['fill', colour]]) {
        c.setAttribute(k, v);
    }
    const t = document.createElementNS(NS, 'text');
    for (const [k, v] of [['x', 12], ['y', 16], ['text-anchor', 'middle'],
        ['font-size', text.length > 2 ? 8 : 11], ['fill', '#ffffff'],
        ['font-family', 'sans-serif'], ['font-weight', 'bold']])
    {
        t.setAttribute(k, v);
    }
    t.textContent = text;
    svg.append(c, t);
    return svg;
}

export const frameworks = Object.keys(marks);
