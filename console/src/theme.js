/*
 * theme.js: dark or light as the system prefers, until the user picks one
 * with "Toggle theme" (kept in localStorage).  The choice is an attribute
 * on <html>; app.css does the rest.
 */

const KEY = 'shipoff.theme';

function systemTheme() {
    return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

function apply(theme) {
    document.documentElement.dataset.theme = theme;
    const meta = document.querySelector('meta[name="color-scheme"]');
    if (meta) {
        meta.content = theme;
    }
}

export function initTheme() {
    apply(localStorage.getItem(KEY) || systemTheme());
    matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
        if (!localStorage.getItem(KEY)) {
            apply(systemTheme());
        }
    });
}

export function toggleTheme() {
    const next = document.documentElement.dataset.theme === 'dark'
        ? 'light' : 'dark';
    localStorage.setItem(KEY, next);
    apply(next);
}
