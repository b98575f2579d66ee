/*
 * authform.js: the sign in and sign up pages, one form with or without
 * Name; GitHub and Google buttons only when /auth/v1/providers says the
 * operator configured them.
 */

import * as session from '../api.js';
import { h, field, input, showError, clearErrors } from '../dom.js';

/* what a provider login that came back with ?error=<code> says */
const OAUTH_ERRORS = {
    state_mismatch: 'This sign-in was started in another browser or tab. Try again.',
    invalid_state: 'This sign-in expired or was used already. Try again.',
    oauth_denied: 'The provider did not allow the sign-in.',
    email_not_verified: 'Your account at the provider has no verified email.',
    account_exists_unverified:
        'An account with this email exists: sign in with its password.',
    identity_conflict:
        'This email\'s account is linked to another account of this provider.',
    provider_error: 'The provider did not answer. Try again in a moment.',
    invalid_token: 'This sign-in expired or was used already. Try again.',
};

/* /signin?oauth=github: finish the login the provider sent us back from;
 * /signin?error=code: say why it failed */
async function providerReturn(ctx, form) {
    const q = new URLSearchParams(location.search);
    try {
        if (q.has('oauth')) {
            await session.finishOAuth();
            ctx.navigate('/projects', true);
        } else if (q.has('error')) {
            const code = q.get('error');
            throw { code, message: OAUTH_ERRORS[code]
                || `Signing in did not work (${code}).` };
        }
    } catch (e) {
        showError(form, { message: OAUTH_ERRORS[e.code] || e.message });
    }
}

export default async function authPage(ctx, signup) {
    const verb = signup ? 'Sign up' : 'Sign in';
    ctx.title(verb);
    const email = input({ type: 'email', name: 'email', autocomplete: 'email',
        required: true });
    const password = input({ type: 'password', name: 'password', required: true,
        autocomplete: signup ? 'new-password' : 'current-password' });
    const name = input({ name: 'name', autocomplete: 'name' });
    const submit = h('button', { type: 'submit', class: 'primary' }, verb);

    const form = h('form', { class: 'card narrow', novalidate: true },
        field('Email', email, 'email'),
        signup ? field('Name', name, 'name') : null,
        field('Password', password, 'password',
            signup ? 'At least 8 characters, not your email.' : null),
        h('div', { class: 'actions' }, submit));

    form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        clearErrors(form);
        submit.disabled = true;
        try {
            if (signup) {
                await session.signup(email.value.trim(), password.value,
                    name.value.trim());
            } else {
                await session.signin(email.value.trim(), password.value);
            }
            const next = new URLSearchParams(location.search).get('next');
            ctx.navigate(next && /^\/[a-z]/.test(next) ? next : '/projects',
                true);
        } catch (e) {
            if (!e.field && e.code === 'email_taken') {
                e.field = 'email';
            }
            showError(form, e);
        } finally {
            submit.disabled = false;
        }
    });

    const other = signup
        ? h('p', {}, 'Have an account? ', h('a', { href: '/signin' }, 'Sign in'))
        : h('p', {}, 'New here? ', h('a', { href: '/signup' }, 'Sign up'));

    ctx.main.append(h('h1', {}, verb), form, other);
    if (!signup) {
        await providerReturn(ctx, form);
    }

    const p = await session.providers();
    const links = [];
    if (p.github) {
        links.push(h('a', { class: 'button', href: '/auth/v1/oauth/github/start' },
            'Continue with GitHub'));
    }
    if (p.google) {
        links.push(h('a', { class: 'button', href: '/auth/v1/oauth/google/start' },
            'Continue with Google'));
    }
    if (links.length && !ctx.signal.aborted) {
        form.after(h('div', { class: 'oauth' }, links));
    }
    email.focus();
}
