# The console as nginx serves it (issue 14), without a browser: any path
# of the single-page app is its index.html, with the strict CSP and no
# inline script or style; /api/ and /auth/ still reach their apps; the
# assets come gzip-compressed and cached for a year, index.html is never
# cached, and what the first load fetches (index.html, its stylesheet and
# the static import graph of its module) is at most 200 KB compressed.
# The auth service says which OAuth providers the sign-in page may show.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use ShipoffTest qw(stack_up http);

my $s = stack_up();
my $gz = { 'Accept-Encoding' => 'gzip' };

my $index;
for my $path ('/', '/projects/7', '/new', '/deployments/12', '/signin') {
    my $res = http(GET => $s->url($path), undef, {});
    is($res->{status}, 200, "$path: 200");
    like($res->{headers}{'content-type'}, qr{^text/html}, "$path: HTML");
    like($res->{content}, qr{<script type="module" src="/assets/[0-9a-f]+/app\.js">},
         "$path: the console's index.html");
    my $csp = $res->{headers}{'content-security-policy'} // '';
    like($csp, qr/(?:^|;\s*)script-src 'self'(?:;|$)/, "$path: script-src 'self'");
    like($csp, qr/(?:^|;\s*)style-src 'self'(?:;|$)/, "$path: style-src 'self'");
    unlike($csp, qr/unsafe-inline|unsafe-eval/, "$path: nothing unsafe");
    like($csp, qr/frame-ancestors 'none'/, "$path: never framed");
    like($res->{headers}{'cache-control'} // '', qr/no-cache/, "$path: no-cache");
    $index = $res->{content};
}

# every <script> has a src, no element carries an event handler or style
my @scripts = $index =~ m{(<script\b[^>]*>)(?=[^<]*</script>)}g;
ok(@scripts, 'index.html has a script');
ok(!(grep { !/\bsrc=/ } @scripts), 'no inline <script>');
unlike($index, qr/<style\b|\sstyle=|\son[a-z]+=/i, 'no inline style or handler');

# the other locations still reach their apps, JSON and not the console
for my $path ('/api/v1/health', '/auth/v1/health') {
    my $res = http(GET => $s->url($path), undef, {});
    is($res->{status}, 200, "$path: 200");
    is($res->{json}{status}, 'ok', "$path: the app answers");
}
my $res = http(GET => $s->url('/api/v1/no-such-thing'), undef, {});
like($res->{headers}{'content-type'}, qr{^application/json}, '/api/ 404 is JSON');
$res = http(GET => $s->url('/_shipoff/routes'), undef, {});
is($res->{status}, 404, '/_shipoff/ is not the console');

# no provider is configured in the test stack: no GitHub or Google button
$res = http(GET => $s->url('/auth/v1/providers'), undef, {});
is($res->{status}, 200, 'providers: 200');
is_deeply($res->{json}, { github => JSON::PP::false, google => JSON::PP::false },
          'providers: none configured');

# the first load: index.html, then every asset it names and every module
# a module imports statically (dynamic import() of pages comes later)
my (%seen, @todo);
my $total = length(http(GET => $s->url('/'), undef, $gz)->{content});
push @todo, $index =~ m{(?:src|href)="(/assets/[^"]+)"}g;
while (my $url = shift @todo) {
    next if $seen{$url}++;
    $res = http(GET => $s->url($url), undef, $gz);
    is($res->{status}, 200, "$url: 200");
    like($res->{headers}{'cache-control'} // '', qr/max-age=31536000\b/,
         "$url: cached for a year");
    is($res->{headers}{'content-encoding'}, 'gzip', "$url: gzip");
    $total += length $res->{content};
    next unless $url =~ /\.js$/;
    like($res->{headers}{'content-type'}, qr{^(?:application|text)/javascript},
         "$url: a JavaScript type (modules need one)");
    my $plain = http(GET => $s->url($url), undef, {})->{content};
    (my $dir = $url) =~ s{[^/]+$}{};
    for my $rel ($plain =~ m{^\s*import\b[^'"]*?from\s+'(\.[^']+)'}mg,
                 $plain =~ m{^import\s+'(\.[^']+)'}mg)
    {
        my $abs = $dir . $rel;
        1 while $abs =~ s{/\./}{/};
        1 while $abs =~ s{/[^/]+/\.\./}{/};
        push @todo, $abs;
    }
}
cmp_ok(scalar(keys %seen), '>=', 3, 'the first load fetches the modules');
cmp_ok($total, '<=', 200 * 1024, "first load: $total bytes compressed");

$res = http(GET => $s->url('/assets/0123456789ab/nope.js'), undef, {});
is($res->{status}, 404, 'a missing asset is a 404, not index.html');

$s->down;
done_testing();
