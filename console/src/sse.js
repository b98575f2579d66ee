/*
 * sse.js: reads a Server-Sent Events stream with fetch, because
 * EventSource cannot send the Authorization header.  Reconnects with
 * ?since= the last id until an `end` event or the signal aborts.
 */

import { raw } from './api.js';

export async function follow(path, { onLine, onEnd, onError, signal }) {
    let since = null;
    let ended = false;
    while (!ended && !signal.aborted) {
        try {
            const url = since === null ? path : `${path}?since=${since}`;
            const res = await raw(url, { signal,
                headers: { Accept: 'text/event-stream' } });
            if (!res.ok) {
                let msg = `the log stream answered ${res.status}`;
                try {
                    msg = (await res.json()).error.message;
                } catch {
                    /* keep the status */
                }
                onError(msg);
                if (res.status !== 503) {
                    return;
                }
                await new Promise((r) => setTimeout(r, 5000));
                continue;
            }
            const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
            let buf = '';
            for (;;) {
                const { value, done } = await reader.read();
                if (done) {
                    break;
                }
                buf += value;
                let at;
                while ((at = buf.search(/\r?\n\r?\n/)) >= 0) {
                    const block = buf.slice(0, at);
                    buf = buf.slice(at).replace(/^\r?\n\r?\n/, '');
                    const ev = { event: 'message', data: [], id: null };
                    for (const l of block.split(/\r?\n/)) {
                        const m = /^([a-z]+): ?(.*)$/.exec(l);
                        if (!m) {
                            continue;
                        }
                        if (m[1] === 'data') {
                            ev.data.push(m[2]);
                        } else if (m[1] === 'event' || m[1] === 'id') {
                            ev[m[1]] = m[2];
                        }
                    }
                    if (!ev.data.length) {
                        continue;
                    }
                    const data = JSON.parse(ev.data.join('\n'));
                    if (ev.event === 'end') {
                        ended = true;
                        onEnd(data);
                    } else {
                        if (ev.id !== null) {
                            since = ev.id;
                        }
                        onLine(data);
                    }
                }
            }
        } catch (e) {
            if (signal.aborted) {
                return;
            }
            onError(`the log stream broke (${e.message}); reconnecting`);
        }
        if (!ended && !signal.aborted) {
            await new Promise((r) => setTimeout(r, 1000));
        }
    }
}
