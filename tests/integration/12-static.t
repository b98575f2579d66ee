#!/usr/bin/perl
# The static module in a real nginx: static sites built into a temp dir,
# routed by Host through the route table, served by nginx's own static
# handler with what the module adds.
#
# 1. Behaviour: a table of requests (host, path, request headers) and what
#    each must get (status, body, response headers, headers absent).
# 2. Traversal: a corpus of hostile paths against every site; none may
#    answer anything but 400/403/404 (or an SPA's own index), and no answer
#    may carry the canary files placed next to the deployments or
#    /etc/passwd.
# 3. The shipped apps server (conf/nginx.conf.in, through the whole stack):
#    an unknown host gets the JSON 404 of @no_app, a dynamic route is
#    proxied with its method and body, a static one is served from its
#    root and nothing outside it.
#
# The locations have no disable_symlinks: the module alone must keep every
# request inside the deployment.  Everything runs twice, against two
# servers of one nginx: one without open_file_cache (every file the module
# looks at is opened), one with it as conf/nginx.conf.in sets it (missing
# files and refused symlinks are cached too).

use strict;
use warnings;

use Test::More;
use File::Path qw(make_path);
use IO::Compress::Gzip qw(gzip $GzipError);
use IO::Socket::INET;
use lib 'tests/integration/lib';
use ShipoffTest qw(free_port tempdir stack_up);
use ShipoffNginx qw($MODULE nginx_conf check_answer start_nginx stop_nginx
                    request bad_log_lines write_file read_file);

BAIL_OUT("$MODULE is missing: make nginx-modules/build/ngx_http_shipoff_module.so")
    unless -f $MODULE;


# Fixture sites ---------------------------------------------------------------

my $tmp = tempdir();
my $CANARY = "CANARY-" . join('', map { int rand 10 } 1 .. 12);

# site => { relative path => content | \'symlink target' }
my $JS = "console.log('app');\n" x 20;
my $JS_GZ;
gzip(\$JS => \$JS_GZ) or die $GzipError;
my $JS_BR = "fake-brotli-bytes\n";

my %sites = (
    spa => {
        'index.html'                  => "<html>SPA INDEX</html>\n",
        'about.html'                  => "<html>ABOUT</html>\n",
        'docs/index.html'             => "<html>DOCS</html>\n",
        'docs/intro.html'             => "<html>INTRO</html>\n",
        '404.html'                    => "<html>CUSTOM 404</html>\n",
        'shadowed.html'               => "<html>SHADOWED</html>\n",
        'blog/hello.html'             => "<html>HELLO POST</html>\n",
        'assets/index-B4x9kQ2a.js'    => $JS,
        'assets/index-B4x9kQ2a.js.gz' => $JS_GZ,
        'assets/index-B4x9kQ2a.js.br' => $JS_BR,
        'assets/app.3f2a9c1b.css'     => "body{}\n",
        'assets/logo.png'             => "PNG",
        'assets/my-component.js'      => "component();\n",
        'robots.txt'                  => "User-agent: *\n",
        'robots.txt.gz'               => "not really gzip",
        'my page.html'                => "<html>SPACE</html>\n",
        'custom/lib.v2.js'            => "v2();\n",
        'custom/lib.v2.js.gz'         => "gz",
        'custom/index-B4x9kQ2a.js'    => "hashed();\n",
        'nocache/app.3f2a9c1b.css'    => "body{}\n",
        '_redirects'                  => <<'EOF',
# Netlify syntax
/old-blog/*        /blog/:splat               301
/news/:year/:month /archive/:year-:month      302
/post/:slug        /blog/:slug.html           200
/app/*             /index.html                200
/gone              /404.html                  410
/shadowed.html     /about.html                200!
/about.html        /nowhere.html              200
/ext               https://example.com/x      301
/keep-query        /about                     302
/q  id=:id         /blog/:id                  301
/escape            /../../secret.txt          200
/escape2           /%2e%2e/%2e%2e/secret.txt  200
/escape3           /..%2f..%2fsecret.txt      200
/splat/*           /:splat                    200
/header-inject/*   /x/:splat                  301
/space             /my%20page.html            200
EOF
        '_headers'                    => <<'EOF',
# Netlify syntax
/*
  X-Frame-Options: DENY
/assets/*
  X-Asset: yes
/about
  Cache-Control: public, max-age=60
  X-About: 1
/robots.txt
  Content-Type: text/x-robots
  Connection: close
EOF
        'passwd'                      => \'/etc/passwd',
        'leak.txt'                    => \'../secret.txt',
        'leak'                        => \'../secret.txt',
        'linkdir'                     => \'..',
        'etcdir'                      => \'/etc',
        'assets/up'                   => \'../..',
    },
    plain => {
        'index.html'                  => "<html>PLAIN INDEX</html>\n",
        'page.html'                   => "<html>PAGE</html>\n",
        'passwd'                      => \'/etc/passwd',
        'leak.txt'                    => \'../secret.txt',
        'linkdir'                     => \'..',
        'etcdir'                      => \'/etc',
    },
    evil => {
        # everything the module reads on its own is a symlink out
        'index.html'                  => \'../secret.txt',
        '404.html'                    => \'../secret.txt',
        '_redirects'                  => \'../evil-redirects',
        '_headers'                    => \'../evil-headers',
        'ok.txt'                      => "fine\n",
    },
);

for my $site (sort keys %sites) {
    my $root = "$tmp/$site/d1";
    make_path($root);
    write_file("$tmp/$site/secret.txt", "$CANARY\n");
    write_file("$tmp/$site/evil-redirects", "/* /secret.txt 200\n");
    write_file("$tmp/$site/evil-headers", "/*\n  X-Leak: $CANARY\n");
    for my $path (sort keys %{ $sites{$site} }) {
        my $content = $sites{$site}{$path};
        my ($dir) = "$root/$path" =~ m{^(.*)/};
        make_path($dir);
        if (ref $content) {
            symlink($$content, "$root/$path") or die "symlink $path: $!";
        } else {
            write_file("$root/$path", $content);
        }
    }
}


# nginx -----------------------------------------------------------------------

my $prefix = tempdir();
my $port = free_port();
my $cached_port = free_port();

my $LOCATIONS = <<'EOF';
        location / {
            if ($shipoff_kind = "") {
                return 404;
            }
            root $shipoff_root;
            shipoff_static on;
        }
        location /custom/ {
            root $shipoff_root;
            shipoff_static on;
            shipoff_spa off;
            shipoff_precompressed off;
            shipoff_immutable_pattern "\.v[0-9]+\.js$";
        }
        location /nocache/ {
            root $shipoff_root;
            shipoff_static on;
            shipoff_immutable_pattern off;
        }
EOF

my $OPEN_FILE_CACHE = <<'EOF';
        open_file_cache max=1000 inactive=60s;
        open_file_cache_valid 60s;
        open_file_cache_min_uses 1;
        open_file_cache_errors on;
EOF

my $master = start_nginx($prefix, nginx_conf(
    prefix => $prefix, port => $port,
    http => 'shipoff_routes zone=routes:1m; shipoff_apps_domain apps.test; '
          . 'types { text/html html; text/css css; application/javascript js; '
          . 'image/png png; text/plain txt; } '
          . "server { listen 127.0.0.1:$cached_port; $OPEN_FILE_CACHE $LOCATIONS }",
    server => <<'EOF' . $LOCATIONS), $port);
        location /_shipoff/ {
            shipoff_control;
            allow 127.0.0.1;
            deny all;
        }
EOF

my @runs = ({ name => 'no cache', port => $port },
            { name => 'open_file_cache', port => $cached_port });
my $control = $port;    # the server with the control location

for my $site (sort keys %sites) {
    my $res = request($port, PUT => "/_shipoff/routes/$site", body => {
        project => $site, kind => 'static', root => "$tmp/$site/d1",
        spa => ($site eq 'spa' ? JSON::PP::true() : JSON::PP::false()) });
    is($res->{status}, 201, "route $site.apps.test") or diag $res->{content};
}


# 1. Behaviour ----------------------------------------------------------------

my $IMMUTABLE = 'public, max-age=31536000, immutable';

# want: status; body: exact body; like: regex on the body; headers: exact
# response headers; absent: headers that must not be there
sub cases {
    my ($port) = @_;
    return (
        # files, directories, clean URLs
        { name => 'the index', host => 'spa', path => '/', want => 200,
          body => "<html>SPA INDEX</html>\n",
          headers => { 'cache-control' => 'no-cache', 'content-type' => 'text/html',
                       'x-frame-options' => 'DENY' } },
        { name => 'a file', host => 'spa', path => '/about.html', want => 200,
          body => "<html>ABOUT</html>\n" },
        { name => 'clean URL: .html', host => 'spa', path => '/about', want => 200,
          body => "<html>ABOUT</html>\n",
          headers => { 'cache-control' => 'public, max-age=60', 'x-about' => 1 } },
        { name => 'clean URL keeps the query', host => 'spa', path => '/about?x=1',
          want => 200, body => "<html>ABOUT</html>\n" },
        { name => 'clean URL: directory index', host => 'spa', path => '/docs',
          want => 200, body => "<html>DOCS</html>\n" },
        { name => 'directory with a slash', host => 'spa', path => '/docs/',
          want => 200, body => "<html>DOCS</html>\n" },
        { name => 'clean URL in a directory', host => 'spa', path => '/docs/intro',
          want => 200, body => "<html>INTRO</html>\n" },
        { name => 'HEAD of a clean URL', method => 'HEAD', host => 'spa',
          path => '/about', want => 200, body => '',
          headers => { 'content-length' => length "<html>ABOUT</html>\n" } },
        { name => 'POST is for nginx to refuse', method => 'POST', host => 'spa',
          path => '/about.html', want => 405 },

        # SPA fallback, 404
        { name => 'SPA: unknown path without extension', host => 'spa',
          path => '/dashboard/settings', want => 200, body => "<html>SPA INDEX</html>\n",
          headers => { 'cache-control' => 'no-cache' } },
        { name => 'SPA: unknown path with extension is a 404', host => 'spa',
          path => '/missing.js', want => 404, body => "<html>CUSTOM 404</html>\n",
          headers => { 'cache-control' => 'no-cache', 'content-type' => 'text/html' } },
        { name => 'the 404 page itself', host => 'spa', path => '/404.html',
          want => 200, body => "<html>CUSTOM 404</html>\n" },
        { name => 'not SPA: unknown path is a plain 404', host => 'plain',
          path => '/dashboard', want => 404, like => qr/404 Not Found/ },
        { name => 'not SPA: clean URL', host => 'plain', path => '/page', want => 200,
          body => "<html>PAGE</html>\n" },
        { name => 'rules files are not content (SPA answers)', host => 'spa',
          path => '/_redirects', want => 200, body => "<html>SPA INDEX</html>\n" },
        { name => 'rules files are not content', host => 'evil', path => '/_headers',
          want => 404 },
        { name => 'unknown host', host => 'nobody', path => '/', want => 404 },

        # cache headers, validators, ranges
        { name => 'hashed asset (Vite)', host => 'spa', path => '/assets/index-B4x9kQ2a.js',
          want => 200, body => $JS,
          headers => { 'cache-control' => $IMMUTABLE, 'vary' => 'Accept-Encoding',
                       'x-asset' => 'yes', 'x-frame-options' => 'DENY' },
          absent => ['content-encoding'] },
        { name => 'hashed asset (webpack)', host => 'spa', path => '/assets/app.3f2a9c1b.css',
          want => 200, headers => { 'cache-control' => $IMMUTABLE }, absent => ['vary'] },
        { name => 'unhashed asset', host => 'spa', path => '/assets/logo.png',
          want => 200, headers => { 'cache-control' => 'no-cache' } },
        { name => 'a word is no hash', host => 'spa', path => '/assets/my-component.js',
          want => 200, headers => { 'cache-control' => 'no-cache' } },
        { name => 'range', host => 'spa', path => '/about.html',
          req => { Range => 'bytes=0-5' }, want => 206, body => '<html>' },

        # directives
        { name => 'shipoff_immutable_pattern REGEX', host => 'spa', path => '/custom/lib.v2.js',
          req => { 'Accept-Encoding' => 'gzip' }, want => 200, body => "v2();\n",
          headers => { 'cache-control' => $IMMUTABLE },
          absent => ['content-encoding', 'vary'] },
        { name => '  replaces the built-in test', host => 'spa',
          path => '/custom/index-B4x9kQ2a.js', want => 200,
          headers => { 'cache-control' => 'no-cache' } },
        { name => 'shipoff_spa off', host => 'spa', path => '/custom/route', want => 404,
          body => "<html>CUSTOM 404</html>\n" },
        { name => 'shipoff_immutable_pattern off', host => 'spa',
          path => '/nocache/app.3f2a9c1b.css', want => 200,
          headers => { 'cache-control' => 'no-cache' } },

        # precompressed
        { name => 'gzip variant', host => 'spa', path => '/assets/index-B4x9kQ2a.js',
          req => { 'Accept-Encoding' => 'gzip, deflate' }, want => 200, body => $JS_GZ,
          headers => { 'content-encoding' => 'gzip', 'vary' => 'Accept-Encoding',
                       'content-type' => 'application/javascript',
                       'cache-control' => $IMMUTABLE, 'x-asset' => 'yes' } },
        { name => 'br preferred', host => 'spa', path => '/assets/index-B4x9kQ2a.js',
          req => { 'Accept-Encoding' => 'gzip, deflate, br' }, want => 200, body => $JS_BR,
          headers => { 'content-encoding' => 'br' } },
        { name => 'gzip;q=0 is a refusal', host => 'spa', path => '/assets/index-B4x9kQ2a.js',
          req => { 'Accept-Encoding' => 'gzip;q=0, identity' }, want => 200, body => $JS,
          absent => ['content-encoding'] },
        { name => 'HEAD of a gzip variant', method => 'HEAD', host => 'spa',
          path => '/assets/index-B4x9kQ2a.js', req => { 'Accept-Encoding' => 'gzip' },
          want => 200, body => '',
          headers => { 'content-encoding' => 'gzip', 'content-length' => length $JS_GZ } },
        { name => 'range of a gzip variant', host => 'spa', path => '/assets/index-B4x9kQ2a.js',
          req => { 'Accept-Encoding' => 'gzip', Range => 'bytes=0-1' }, want => 206,
          body => substr($JS_GZ, 0, 2), headers => { 'content-encoding' => 'gzip' } },

        # _redirects
        { name => 'splat 301', host => 'spa', path => '/old-blog/2024/post?ref=x',
          want => 301,
          headers => { location => "http://spa.apps.test:$port/blog/2024/post?ref=x" } },
        { name => 'placeholders 302', host => 'spa', path => '/news/2024/05',
          want => 302, headers => { location => "http://spa.apps.test:$port/archive/2024-05" } },
        { name => '200 rewrite with a placeholder', host => 'spa', path => '/post/hello',
          want => 200, body => "<html>HELLO POST</html>\n" },
        { name => '200 rewrite of a splat', host => 'spa', path => '/app/a/b',
          want => 200, body => "<html>SPA INDEX</html>\n" },
        { name => '410 with a page', host => 'spa', path => '/gone', want => 410,
          body => "<html>CUSTOM 404</html>\n" },
        { name => 'a forced rule shadows a file', host => 'spa', path => '/shadowed.html',
          want => 200, body => "<html>ABOUT</html>\n" },
        { name => 'an unforced rule does not', host => 'spa', path => '/about.html',
          want => 200, body => "<html>ABOUT</html>\n" },
        { name => 'redirect to a URL', host => 'spa', path => '/ext', want => 301,
          headers => { location => 'https://example.com/x' } },
        { name => 'the query is passed on', host => 'spa', path => '/keep-query?a=1&b=2',
          want => 302, headers => { location => "http://spa.apps.test:$port/about?a=1&b=2" } },
        { name => 'query conditions are ignored (SPA answers)', host => 'spa',
          path => '/q?id=5', want => 200, body => "<html>SPA INDEX</html>\n" },
        { name => 'a placeholder cannot inject a header', host => 'spa',
          path => '/header-inject/a%0d%0aX-Injected:%20yes', want => 301,
          headers => { location => "http://spa.apps.test:$port/x/a%0D%0AX-Injected:%20yes" },
          absent => ['x-injected'] },

        { name => 'an escaped target names a file', host => 'spa', path => '/space',
          want => 200, body => "<html>SPACE</html>\n" },

        # _headers
        { name => 'Content-Type from _headers, framing headers refused', host => 'spa',
          path => '/robots.txt', want => 200, headers => { 'content-type' => 'text/x-robots' },
          absent => ['content-encoding'] },
        { name => 'a bogus .gz is still served as declared', host => 'spa', path => '/robots.txt',
          req => { 'Accept-Encoding' => 'gzip' }, want => 200, body => 'not really gzip',
          headers => { 'content-encoding' => 'gzip', 'vary' => 'Accept-Encoding' } },

        # symlinked rules, index and 404 page are never followed
        { name => 'symlinked index', host => 'evil', path => '/', want => 403 },
        { name => 'symlinked 404.html and _redirects', host => 'evil', path => '/nothing',
          want => 404, like => qr/404 Not Found/ },
        { name => 'symlinked _headers', host => 'evil', path => '/ok.txt', want => 200,
          body => "fine\n", absent => ['x-leak'] },
    );
}

# 2. Traversal corpus ---------------------------------------------------------

my @corpus = (
    # dot segments, plain and encoded
    '/../secret.txt', '/../../etc/passwd', '/a/../../secret.txt',
    '/%2e%2e/secret.txt', '/%2e%2e/%2e%2e/etc/passwd', '/%2E%2E/secret.txt',
    '/.%2e/secret.txt', '/%2e./secret.txt', '/..%2fsecret.txt', '/..%2Fsecret.txt',
    '/%2e%2e%2fsecret.txt', '/%2e%2e%2f%2e%2e%2fetc%2fpasswd', '/assets/..%2f..%2fsecret.txt',
    '/%2fetc%2fpasswd', '/%2F..%2F..%2Fsecret.txt', '/docs/%2e%2e/%2e%2e/secret.txt',
    # double encoding
    '/%252e%252e/secret.txt', '/%252e%252e%252fsecret.txt', '/..%252fsecret.txt',
    '/%25%32%65%25%32%65/secret.txt',
    # NUL
    '/secret.txt%00', '/index.html%00/../secret.txt', '/%00', '/..%00/secret.txt',
    '/about%00.html', '/%2e%2e%00/secret.txt',
    # backslashes
    '/..\\secret.txt', '/..%5csecret.txt', '/..%5C..%5Csecret.txt', '/assets\\..\\..\\secret.txt',
    '/%5c..%5c..%5cetc%5cpasswd',
    # overlong and odd UTF-8
    '/%c0%ae%c0%ae/secret.txt', '/%c0%ae%c0%ae%c0%afsecret.txt', '/%e0%80%ae%e0%80%ae/secret.txt',
    '/%c1%9c..%c1%9csecret.txt', '/%c0%2e%c0%2e/secret.txt', '/%uff0e%uff0e/secret.txt',
    # slashes
    '//secret.txt', '//../secret.txt', '///etc/passwd', '/.//..//secret.txt',
    '/./../secret.txt', '/assets/./../../secret.txt',
    # symlinks inside the artifact
    '/passwd', '/leak.txt', '/leak', '/linkdir/secret.txt', '/linkdir/d1/index.html',
    '/etcdir/passwd', '/etcdir/hostname', '/assets/up/secret.txt', '/linkdir/',
    '/etcdir/', '/linkdir', '/etcdir',
    # rules pointing out
    '/escape', '/escape2', '/escape3', '/splat/..%2fsecret.txt', '/splat/%2e%2e/secret.txt',
    # absolute-form and odd request targets
    'http://spa.apps.test/../secret.txt', '/secret.txt', '/d1/../secret.txt',
);

cmp_ok(scalar @corpus, '>=', 50, 'traversal corpus has at least 50 payloads');


# Both runs ---------------------------------------------------------------------

for my $run (@runs) {
    my $port = $run->{port};
    my $M = "[$run->{name}]";

    for my $case (cases($port)) {
        my $method = $case->{method} // 'GET';
        my $res = request($port, $method, $case->{path},
            headers => { Host => "$case->{host}.apps.test", %{ $case->{req} || {} } });
        my $label = "$M $method $case->{host} $case->{path}: $case->{name}";
        check_answer($res, $case, $label);
    }

    # validators: the ETag of an HTML page revalidates to 304
    {
        my $res = request($port, GET => '/about.html', headers => { Host => 'spa.apps.test' });
        my $etag = $res->{headers}{etag};
        ok($etag && $res->{headers}{'last-modified'}, "$M HTML has ETag and Last-Modified");
        $res = request($port, GET => '/about.html',
                       headers => { Host => 'spa.apps.test', 'If-None-Match' => $etag // '' });
        is($res->{status}, 304, '  If-None-Match: 304');
        is($res->{headers}{'cache-control'}, 'no-cache', '  still no-cache');
        $res = request($port, GET => '/about', headers => {
            Host => 'spa.apps.test',
            'If-Modified-Since' => $res->{headers}{'last-modified'} // '' });
        is($res->{status}, 304, '  If-Modified-Since of a clean URL: 304');

        $res = request($port, GET => '/assets/index-B4x9kQ2a.js',
                       headers => { Host => 'spa.apps.test', 'Accept-Encoding' => 'gzip' });
        my $gz_etag = $res->{headers}{etag};
        isnt($gz_etag, undef, "$M a gzip variant has its own ETag");
        $res = request($port, GET => '/assets/index-B4x9kQ2a.js',
                       headers => { Host => 'spa.apps.test', 'Accept-Encoding' => 'gzip',
                                    'If-None-Match' => $gz_etag // '' });
        is($res->{status}, 304, '  and revalidates');
    }

    # rules are re-read when their file changes, in every worker; with
    # open_file_cache, once open_file_cache_valid has passed
    if ($run->{name} eq 'no cache') {
        for my $value ('first', 'second, longer') {
            write_file("$tmp/plain/d1/_headers", "/*\n  X-Version: $value\n");
            for my $try (1 .. 4) {
                my $res = request($port, GET => '/page.html',
                                  headers => { Host => 'plain.apps.test' });
                is($res->{headers}{'x-version'}, $value,
                   "$M changed _headers: $value ($try)");
            }
        }
        unlink "$tmp/plain/d1/_headers";
        my $res = request($port, GET => '/page.html', headers => { Host => 'plain.apps.test' });
        ok(!exists $res->{headers}{'x-version'}, "$M removed _headers");
    }

    # a new deployment of a route brings its own rules at once, and a
    # rollback the old ones
    for my $deployment ("d2-$port", 'd1') {
        my $root = "$tmp/plain/$deployment";
        if ($deployment ne 'd1') {
            make_path($root);
            write_file("$root/page.html", "<html>PAGE</html>\n");
            write_file("$root/_headers", "/*\n  X-Deployment: $deployment\n");
        }
        my $res = request($control, PUT => '/_shipoff/routes/plain', body => {
            project => 'plain', kind => 'static', root => $root });
        is($res->{status}, 200, "$M plain now serves $deployment");
        for my $try (1 .. 4) {
            $res = request($port, GET => '/page.html', headers => { Host => 'plain.apps.test' });
            is($res->{headers}{'x-deployment'},
               $deployment eq 'd1' ? undef : $deployment,
               "$M rules of $deployment ($try)");
        }
    }

    my $spa_index = "<html>SPA INDEX</html>\n";
    for my $site (sort keys %sites) {
        my @bad;
        for my $payload (@corpus) {
            my $res = request($port, GET => $payload,
                              headers => { Host => "$site.apps.test" });
            my $all = $res->{content} . join("\n", values %{ $res->{headers} });
            my $ok = ($res->{status} =~ /^(400|403|404)$/
                      || ($site eq 'spa' && $res->{status} == 200
                          && $res->{content} eq $spa_index))
                     && index($all, $CANARY) < 0 && $all !~ /root:x:0:0/;
            push @bad, "$payload => $res->{status} " . substr($res->{content}, 0, 60)
                unless $ok;
        }
        is_deeply(\@bad, [], "$M $site: every traversal payload fails safe")
            or diag explain \@bad;
    }
}

stop_nginx($master);
is_deeply([bad_log_lines($prefix, 'alert|emerg|crit')], [],
          'no [alert], [emerg] or [crit] in error.log');
like(read_file("$prefix/error.log"), qr/invalid lines in ".*\/_redirects" ignored/,
     'invalid rules are logged');


# 3. The shipped apps server ------------------------------------------------

my $s = stack_up();
my $http = $s->port('http');
my $app_port = free_port();
my %host = map { ($_ => "$_$$.localhost") } qw(static dyn nobody);

# the dynamic app: what it was asked, and how much body came with it
my $app = fork // die "fork: $!";
if (!$app) {
    my $srv = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$app_port",
                                    Listen => 16, ReuseAddr => 1) or exit 1;
    while (my $c = $srv->accept) {
        my $req = '';
        sysread($c, $req, 65536, length $req) until $req =~ /\r\n\r\n/;
        my ($line) = $req =~ /^(\w+ \S+)/;
        my ($len) = $req =~ /^Content-Length: *(\d+)/mi;
        my $body = substr($req, index($req, "\r\n\r\n") + 4);
        sysread($c, $body, 65536, length $body) while length $body < ($len // 0);
        my $answer = "app: $line " . length($body) . "\n";
        print $c "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                 . "Content-Length: " . length($answer)
                 . "\r\nConnection: close\r\n\r\n$answer";
        close $c;
    }
    exit 0;
}
END { kill 'TERM', $app if $app }

for my $route ([static => { project => "static$$", kind => 'static',
                            root => "$tmp/plain/d1" }],
               [dyn => { project => "dyn$$", kind => 'dynamic',
                         state => 'running', upstream => "127.0.0.1:$app_port" }])
{
    my $res = $s->control(PUT => "/_shipoff/routes/$host{$route->[0]}", $route->[1]);
    is($res->{status}, 201, "shipped: route $route->[0]") or diag $res->{content};
}

my $NO_APP = '{"error":{"code":"not_found",'
           . '"message":"no app is deployed at this address"}}' . "\n";

my @shipped_cases = (
    { name => 'unknown host', host => 'nobody', path => '/', want => 404,
      body => $NO_APP, headers => { 'content-type' => 'application/json' } },
    { name => 'unknown host, a deep path', host => 'nobody', path => '/a/b.css?x=1',
      want => 404, body => $NO_APP,
      headers => { 'content-type' => 'application/json' } },
    { name => 'unknown host, POST with a body', host => 'nobody', method => 'POST',
      path => '/form', body_in => 'a=1&b=2', want => 404, body => $NO_APP,
      headers => { 'content-type' => 'application/json' } },
    { name => 'unknown host, HEAD', host => 'nobody', method => 'HEAD', path => '/',
      want => 404, body => '', headers => { 'content-type' => 'application/json' } },
    { name => 'static: a page', host => 'static', path => '/page.html', want => 200,
      body => "<html>PAGE</html>\n",
      headers => { 'content-type' => 'text/html', 'cache-control' => 'no-cache' } },
    { name => 'static: the index of /', host => 'static', path => '/', want => 200,
      body => "<html>PLAIN INDEX</html>\n" },
    { name => 'static: a clean URL', host => 'static', path => '/page', want => 200,
      body => "<html>PAGE</html>\n" },
    { name => 'static: missing', host => 'static', path => '/nope.css', want => 404 },
    { name => 'static: a symlink out', host => 'static', path => '/passwd', want => 403 },
    { name => 'static: a directory symlinked out', host => 'static',
      path => '/etcdir/passwd', want => 404 },
    { name => 'static: POST to a file', host => 'static', method => 'POST',
      path => '/page.html', body_in => 'x', want => 405 },
    { name => 'dynamic: GET', host => 'dyn', path => '/hello?x=1', want => 200,
      body => "app: GET /hello?x=1 0\n" },
    { name => 'dynamic: POST keeps its body', host => 'dyn', method => 'POST',
      path => '/submit', body_in => 'x' x 3000, want => 200,
      body => "app: POST /submit 3000\n" },
    { name => 'dynamic: DELETE', host => 'dyn', method => 'DELETE',
      path => '/item/7', want => 200, body => "app: DELETE /item/7 0\n" },
);

for my $case (@shipped_cases) {
    my $res = request($http, $case->{method} // 'GET', $case->{path},
                      headers => { Host => $host{ $case->{host} } },
                      (defined $case->{body_in} ? (body => $case->{body_in}) : ()));
    check_answer($res, $case, "shipped: $case->{name}");
    unlike($res->{content}, qr/root:x:0:0|\Q$CANARY\E/, '  nothing from outside')
        if $case->{host} eq 'static';
}

my @crit = grep { /\[(?:alert|emerg|crit)\]/ }
           split /\n/, read_file($s->var . '/log/nginx-error.log');
is_deeply(\@crit, [], 'shipped: no [alert], [emerg] or [crit] in error.log');

done_testing();
