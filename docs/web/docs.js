/*
 * docs.js: the /docs/ pages' search and theme toggle.  A plain file, not an
 * inline script: nginx serves /docs/ with script-src 'self'.
 *
 * Ctrl+K (or "/" outside a field) opens a dialog that searches search.json
 * (scripts/docsite writes it: one entry per section of every page, with
 * its title, heading and text).  Every word typed must appear; a match in
 * a title or heading ranks above one in the text.  Results are built with
 * DOM calls and textContent only: nothing from the index is parsed as HTML.
 */
(function () {
    'use strict';

    var index = null;
    var dialog, input, results;

    function load() {
        if (index) {
            return Promise.resolve(index);
        }
        return fetch('search.json', { credentials: 'same-origin' })
            .then(function (r) { return r.json(); })
            .then(function (entries) {
                index = entries.map(function (e) {
                    e.lower = {
                        title: e.title.toLowerCase(),
                        heading: e.heading.toLowerCase(),
                        text: e.text.toLowerCase()
                    };
                    return e;
                });
                return index;
            });
    }

    function score(e, words) {
        var total = 0;
        for (var i = 0; i < words.length; i++) {
            var w = words[i], s = 0;
            if (e.lower.heading.indexOf(w) >= 0) {
                s += 10;
            }
            if (e.lower.title.indexOf(w) >= 0) {
                s += 5;
            }
            if (e.lower.text.indexOf(w) >= 0) {
                s += 1;
            }
            if (s === 0) {
                return 0;
            }
            total += s;
        }
        return total;
    }

    function snippet(text, word) {
        var at = text.toLowerCase().indexOf(word);
        if (at < 0) {
            return text.slice(0, 120);
        }
        var from = Math.max(0, at - 40);
        if (from > 0) {
            /* from the start of a word */
            from = text.indexOf(' ', from) + 1 || from;
            from = Math.min(from, at);
        }
        return (from > 0 ? '… ' : '') + text.slice(from, from + 140) + ' …';
    }

    function render(query) {
        var words = query.toLowerCase().split(/\s+/).filter(Boolean);
        results.textContent = '';
        if (!words.length || !index) {
            return;
        }
        var found = index
            .map(function (e) { return { e: e, s: score(e, words) }; })
            .filter(function (r) { return r.s > 0; })
            .sort(function (a, b) { return b.s - a.s; })
            .slice(0, 20);
        if (!found.length) {
            var none = document.createElement('li');
            none.textContent = 'No page mentions “' + query + '”.';
            results.appendChild(none);
            return;
        }
        found.forEach(function (r) {
            var li = document.createElement('li');
            var a = document.createElement('a');
            a.href = r.e.page + (r.e.id ? '#' + r.e.id : '');
            a.textContent = r.e.title + (r.e.heading ? ' › ' + r.e.heading
                                                     : '');
            var p = document.createElement('p');
            p.textContent = snippet(r.e.text, words[0]);
            li.appendChild(a);
            li.appendChild(p);
            results.appendChild(li);
        });
    }

    function open() {
        if (dialog.open) {
            input.focus();
            return;
        }
        dialog.showModal();
        input.select();
        load().then(function () { render(input.value); });
    }

    function typing(target) {
        var tag = target && target.tagName;
        return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT'
               || (target && target.isContentEditable);
    }

    function setTheme(theme) {
        document.documentElement.setAttribute('data-theme', theme);
        try {
            localStorage.setItem('shipoff-theme', theme);
        } catch (e) {
            /* storage refused (private mode): the toggle lasts the page */
        }
    }

    function init() {
        dialog = document.getElementById('search');
        input = document.getElementById('search-input');
        results = document.getElementById('search-results');

        document.getElementById('search-open').addEventListener('click', open);
        input.addEventListener('input', function () { render(input.value); });
        dialog.querySelector('form').addEventListener('submit', function (ev) {
            var first = results.querySelector('a');
            ev.preventDefault();
            if (first) {
                dialog.close();
                location.href = first.href;
            }
        });
        dialog.addEventListener('click', function (ev) {
            if (ev.target === dialog) {
                dialog.close();
            }
        });
        /* a closed dialog gives the focus back: "/" must open it again
           at once, not type into the hidden input */
        dialog.addEventListener('close', function () {
            if (document.activeElement === input) {
                input.blur();
            }
        });
        results.addEventListener('click', function (ev) {
            if (ev.target.closest('a')) {
                dialog.close();
            }
        });
        document.addEventListener('keydown', function (ev) {
            var k = ev.key && ev.key.toLowerCase();
            if ((ev.ctrlKey || ev.metaKey) && k === 'k') {
                ev.preventDefault();
                open();
            } else if (ev.key === '/' && !dialog.open
                       && (ev.target === input || !typing(ev.target)))
            {
                /* the closed dialog's input is no field being typed in,
                   though it may keep the focus until "close" has run */
                ev.preventDefault();
                open();
            }
        });
        document.getElementById('theme').addEventListener('click', function () {
            var dark = document.documentElement.getAttribute('data-theme')
                       ? document.documentElement.getAttribute('data-theme')
                         === 'dark'
                       : matchMedia('(prefers-color-scheme: dark)').matches;
            setTheme(dark ? 'light' : 'dark');
        });
    }

    try {
        var saved = localStorage.getItem('shipoff-theme');
        if (saved === 'dark' || saved === 'light') {
            document.documentElement.setAttribute('data-theme', saved);
        }
    } catch (e) {
        /* no storage: the system's theme */
    }
    if (document.readyState === 'loading') {
        document.addEventListener('DOMContentLoaded', init);
    } else {
        init();
    }
}());
