/*
 * dotenv.js: a pasted .env file as [{key, value}]: KEY=value lines,
 * `export ` allowed, # comments and blank lines skipped, one level of
 * matching quotes removed ("\n" in double quotes is a newline).
 */

export function parseDotenv(text) {
    const out = [];
    for (const raw of text.split(/\r?\n/)) {
        const line = raw.trim();
        if (!line || line.startsWith('#')) {
            continue;
        }
        const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
        if (!m) {
            continue;
        }
        let v = m[2];
        const q = v[0];
        if ((q === '"' || q === "'") && v.length > 1 && v.endsWith(q)) {
            v = v.slice(1, -1);
            if (q === '"') {
                v = v.replace(/\\n/g, '\n');
            }
        } else {
            v = v.replace(/\s+#.*$/, '');
        }
        out.push({ key: m[1], value: v });
    }
    return out;
}
