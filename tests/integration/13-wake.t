#!/usr/bin/perl
# Scale to zero, the nginx side: holding requests while an app wakes, and
# GET /_shipoff/metrics.
#
# The test plays shipoffd: a small Perl server ("fake shipoffd") that
#   - answers the wake location (GET /wake?host=..&project=..) at once,
#     records the call, and after the case's wake_after seconds PUTs the
#     route back to running with the app's address (a route that sleeps has
#     a dead upstream: the held requests must follow the new one);
#   - is the app: "hello HOST" (and the size of a body) for any request,
#     and a 101 that stays open until the client goes for an Upgrade.
#
# 1. nginx -t of the metrics directive.
# 2. A table of wake cases played in order against one nginx, each with
#    its clients (how many, what they accept, whether they go away or a
#    reload happens while they are held) and what they and the metrics
#    must see afterwards.
# 3. Long-lived connections in the metrics; the metrics' syntax.

use strict;
use warnings;

use Test::More;
use IO::Socket::INET;
use IO::Select;
use POSIX ();
use Time::HiRes qw(sleep time);
use lib 'tests/integration/lib';
use ShipoffTest qw(free_port http tempdir json_encode);
use ShipoffNginx qw($NGINX $MODULE nginx_conf nginx_config_cases start_nginx
                    stop_nginx reload_nginx bad_log_lines read_file request
                    send_request read_response);

BAIL_OUT("$MODULE is missing: make nginx-modules/build/ngx_http_shipoff_module.so")
    unless -f $MODULE;
BAIL_OUT("$NGINX is missing") unless -x $NGINX;

my $ZONE = 'shipoff_routes zone=routes:1m;';
my $DEAD = '127.0.0.1:9';       # where a sleeping app is not
my $TIMEOUT = 2;                # shipoff_wake_timeout, seconds
my $PAGE_AFTER = 1;             # shipoff_wake_page_after, seconds


# 1. nginx -t ---------------------------------------------------------------

my @config_cases = (
    { name => 'metrics location',
      http => $ZONE,
      server => 'location = /_shipoff/metrics { shipoff_metrics; allow 127.0.0.1; deny all; }' },
    { name => 'metrics without a zone',
      server => 'location /m { shipoff_metrics; }',
      error => qr/"shipoff_metrics" requires "shipoff_routes"/ },
    { name => 'metrics with an argument',
      http => $ZONE, server => 'location /m { shipoff_metrics on; }',
      error => qr/invalid number of arguments in "shipoff_metrics"/ },
    { name => 'metrics in a server',
      http => $ZONE, server => 'shipoff_metrics;',
      error => qr/"shipoff_metrics" directive is not allowed here/ },
    { name => 'max_held not a number',
      http => $ZONE, server => 'location / { shipoff_wake_max_held many; }',
      error => qr/"shipoff_wake_max_held" directive invalid number/ },
    { name => 'page_after not a time',
      http => $ZONE, server => 'location / { shipoff_wake_page_after soon; }',
      error => qr/"shipoff_wake_page_after" directive invalid value/ },
    { name => 'metrics twice',
      http => $ZONE, server => 'location /m { shipoff_metrics; shipoff_metrics; }',
      error => qr/"shipoff_metrics" directive is duplicate/ },
);

nginx_config_cases(@config_cases);


# 2. holding requests -------------------------------------------------------

# Played in order.  host: the route (bare name, under apps.test), put to
# sleep before the case unless state says otherwise (or keep leaves it as
# the case before left it); wake_after: seconds
# until the fake shipoffd reports the app running (never, without it);
# clients: concurrent requests; method, body_in and accept: what they send
# (GET by default); abort: they
# go away after that many seconds; reload: nginx reloads after that many
# seconds.  Expected: want/body/json_error/headers of every answer (none
# with abort; answered: the range of seconds they took, for a 503 by
# default from the timeout on), and afterwards the wakes the fake shipoffd
# got, and the metrics' wakes, timeouts, waking pages, refusals and held
# requests (the histogram's count).  path /one/ is a location holding at
# most one request per worker, /none/ one holding none.
my @cases = (
    { name => 'a running route is not held', host => 'awake', state => 'running',
      clients => 3, want => 200, body => qr/^hello awake\.apps\.test$/,
      wakes => 0, timeouts => 0, held => 0 },
    { name => '100 concurrent requests to a sleeping app: one wake, all served',
      host => 'hundred', wake_after => 0.5, clients => 100,
      want => 200, body => qr/^hello hundred\.apps\.test$/,
      wakes => 1, timeouts => 0, held => 100, held_at_least => 0.4 },
    { name => 'a POST with a body wakes the app and reaches it whole',
      host => 'post', wake_after => 0.3, clients => 2, method => 'POST',
      body_in => 'hello=world', want => 200,
      body => qr/^hello post\.apps\.test, 11 bytes$/,
      wakes => 1, timeouts => 0, held => 2 },
    { name => 'no wake in time: 503 JSON with Retry-After for an API client',
      host => 'never', clients => 2, want => 503, json_error => 'waking',
      headers => { 'retry-after' => 5, 'content-type' => 'application/json',
                   'cache-control' => 'no-store' },
      wakes => 1, timeouts => 2, held => 0 },
    { name => 'a browser gets a self-refreshing page after shipoff_wake_page_after',
      host => 'dozing', clients => 1, accept => 'text/html,application/xhtml+xml;q=0.9',
      want => 503, body => qr{<meta http-equiv="refresh" content="2">.*Waking up}s,
      headers => { 'retry-after' => 5, 'content-type' => 'text/html',
                   'cache-control' => 'no-store' },
      answered => [$PAGE_AFTER - 0.1, $TIMEOUT - 0.2],
      wakes => 1, timeouts => 0, pages => 1, held => 0 },
    { name => 'a browser whose app wakes in time gets the app, not the page',
      host => 'quick', wake_after => 0.3, clients => 2, accept => 'text/html',
      want => 200, body => qr/^hello quick\.apps\.test$/,
      wakes => 1, timeouts => 0, pages => 0, held => 2 },
    { name => 'a POST from a browser is held to the timeout, not paged',
      host => 'form', clients => 1, method => 'POST', body_in => 'a=1',
      accept => 'text/html', want => 503, body => qr/Waking up/,
      wakes => 1, timeouts => 1, pages => 0, held => 0 },
    { name => 'shipoff_wake_max_held 0: 503 at once, and the app is still woken',
      host => 'full', path => '/none/', clients => 3, want => 503,
      json_error => 'waking', headers => { 'retry-after' => 5 },
      answered => [0, $PAGE_AFTER - 0.2],
      wakes => 1, timeouts => 0, refused => 3, held => 0 },
    # one held request per worker and two workers: the third of these
    # finds its worker's count taken unless the ones before gave it back
    (map { { name => "shipoff_wake_max_held 1: a held request gives its place back ($_)",
             host => "one$_", path => '/one/', wake_after => 0.2, clients => 1,
             want => 200, body => qr/^hello one$_\.apps\.test$/,
             wakes => 1, timeouts => 0, refused => 0, held => 1 } } 1 .. 3),
    { name => 'a wake older than the timeout was lost: the next request wakes again',
      host => 'never', keep => 1, clients => 1, want => 503, json_error => 'waking',
      wakes => 2, timeouts => 3, held => 0 },
    { name => 'clients that go away while held are released',
      host => 'gone', wake_after => 1.5, clients => 3, abort => 0.3,
      wakes => 1, timeouts => 0, held => 0 },
    { name => 'a reload while requests are held does not drop them',
      host => 'reload', wake_after => 1.5, clients => 5, reload => 0.3,
      want => 200, body => qr/^hello reload\.apps\.test$/,
      wakes => 1, timeouts => 0, held => 5 },
);

my %wake_after = map { ("$_->{host}.apps.test" => $_->{wake_after}) }
                 grep { defined $_->{wake_after} } @cases;

my $prefix = tempdir();
my $port = free_port();
my $fake_port = free_port();

my $fake = start_fake_shipoffd($prefix, $fake_port, $port, \%wake_after);
END { stop_fake_shipoffd($fake) if $fake }

my $conf = nginx_conf(prefix => $prefix, port => $port,
    main => 'worker_shutdown_timeout 20s;',
    http => <<"EOF",
    $ZONE
    shipoff_apps_domain apps.test;
    map \$http_upgrade \$connection_upgrade {
        default upgrade;
        ''      close;
    }
EOF
    server => <<"EOF");
        location /_shipoff/ {
            shipoff_control;
            allow 127.0.0.1;
            deny all;
        }
        location = /_shipoff/metrics {
            shipoff_metrics;
            allow 127.0.0.1;
            deny all;
        }
        location = /_internal/wake {
            internal;
            proxy_pass http://127.0.0.1:$fake_port/wake;
        }
        location / {
            shipoff_wake on;
            shipoff_wake_uri /_internal/wake;
            shipoff_wake_timeout ${TIMEOUT}s;
            shipoff_wake_page_after ${PAGE_AFTER}s;
            proxy_pass http://\$shipoff_upstream;
            proxy_http_version 1.1;
            proxy_set_header Host \$host;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection \$connection_upgrade;
        }
        location /one/ {
            shipoff_wake on;
            shipoff_wake_uri /_internal/wake;
            shipoff_wake_max_held 1;
            proxy_pass http://\$shipoff_upstream;
            proxy_set_header Host \$host;
        }
        location /none/ {
            shipoff_wake on;
            shipoff_wake_uri /_internal/wake;
            shipoff_wake_max_held 0;
            proxy_pass http://\$shipoff_upstream;
        }
EOF

my $master = start_nginx($prefix, $conf, $port);

for my $case (@cases) {
    my $host = "$case->{host}.apps.test";
    my $state = $case->{state} // 'sleeping';
    if ($case->{keep}) {
        pass("$case->{name}: route left as it is");
    } else {
        my $res = http(PUT => "http://127.0.0.1:$port/_shipoff/routes/$host",
                       { project => $case->{host}, kind => 'dynamic', state => $state,
                         upstream => $state eq 'running' ? "127.0.0.1:$fake_port" : $DEAD });
        ok($res->{status} =~ /^20[01]$/, "$case->{name}: route is $state")
            or diag $res->{content};
    }

    my $start = time;
    my @socks = map {
        send_request($port, $case->{method} // 'GET', $case->{path} // '/', body => $case->{body_in}, headers => {
            Host => $host, ($case->{accept} ? (Accept => $case->{accept}) : ()) })
    } 1 .. $case->{clients};
    $case->{sent} = time - $start;    # how long sending them all took

    if ($case->{abort}) {
        sleep $case->{abort};
        close $_ for @socks;
        @socks = ();
        sleep $case->{wake_after} - $case->{abort} + 0.5;
    }
    if ($case->{reload}) {
        sleep $case->{reload};
        ok(reload_nginx($master), '  nginx reloads while requests are held');
    }

    my @answers = map { read_response($_, timeout => $TIMEOUT + 10) } @socks;
    my $took = time - $start;

    if (@answers) {
        my @bad = grep { $_->{status} != $case->{want} } @answers;
        is(scalar @bad, 0, "  all $case->{clients} answered $case->{want}")
            or diag "got: " . join(', ', map { $_->{status} } @bad[0 .. ($#bad < 4 ? $#bad : 4)]);
        my $res = $answers[0];
        like($res->{content}, $case->{body}, '  body') if $case->{body};
        is(eval { $res->{json}{error}{code} }, $case->{json_error},
           "  error code $case->{json_error}") or diag $res->{content}
            if $case->{json_error};
        while (my ($h, $v) = each %{ $case->{headers} || {} }) {
            is($res->{headers}{$h}, $v, "  $h: $v");
        }
        my ($after, $within) = @{ $case->{answered}
                                  || ($case->{want} == 503 ? [$TIMEOUT - 0.1] : [0]) };
        cmp_ok($took, '>=', $after, "  answered after ${after}s or more");
        cmp_ok($took, '<', $within, "  answered within ${within}s") if defined $within;
        if ($case->{held_at_least}) {
            cmp_ok($took, '>=', $case->{held_at_least}, '  held until the app ran');
        }
    }

    my @wakes = grep { /^\Q$host\E / } split /\n/, read_file("$prefix/wakes");
    is(scalar @wakes, $case->{wakes}, "  wake requests received: $case->{wakes}")
        or diag explain \@wakes;
    is($wakes[0], "$host $case->{host}", '  the wake names host and project') if @wakes;

    my $m = wait_metrics($port, sub { ($_[0]{"shipoff_in_flight{$host}"} // -1) == 0 });
    is($m->{"shipoff_in_flight{$host}"}, 0, '  in flight: 0 afterwards');
    is($m->{"shipoff_wakes_total{$host}"}, $case->{wakes}, "  metrics: wakes $case->{wakes}")
        or diag explain $m;
    is($m->{"shipoff_wake_timeouts_total{$host}"}, $case->{timeouts},
       "  metrics: wake timeouts $case->{timeouts}");
    for my $k (qw(pages refused)) {
        next unless defined $case->{$k};
        is($m->{"shipoff_wake_${k}_total{$host}"}, $case->{$k}, "  metrics: wake $k $case->{$k}");
    }
    is($m->{"shipoff_wake_seconds_count{$host}"}, $case->{held},
       "  metrics: held requests $case->{held}");
    cmp_ok($m->{"shipoff_requests_total{$host}"} // 0, '>=', $case->{clients},
           '  metrics: requests counted');
}

like(read_file("$prefix/error.log"), qr/client prematurely closed connection/,
     'the clients that went away were noticed');
like(read_file("$prefix/error.log"), qr/\[warn\].*app "never" of "never\.apps\.test" did not wake within/,
     'a wake timeout is logged as a warning');


# 3. long-lived connections, the metrics' syntax ------------------------------

my $res = http(PUT => "http://127.0.0.1:$port/_shipoff/routes/socket.apps.test",
               { project => 'socket', kind => 'dynamic', upstream => "127.0.0.1:$fake_port" });
is($res->{status}, 201, 'a route for a WebSocket app');

my $ws = send_request($port, GET => '/chat', headers => {
    Host => 'socket.apps.test', Upgrade => 'websocket', Connection => 'Upgrade' });
my $up = read_response($ws, head_only => 1, timeout => 5);
is($up->{status}, 101, '  the upgrade is switched through');
my $m = wait_metrics($port, sub { ($_[0]{'shipoff_long_lived{socket.apps.test}'} // 0) == 1 });
is($m->{'shipoff_long_lived{socket.apps.test}'}, 1, '  long-lived while open');
is($m->{'shipoff_in_flight{socket.apps.test}'}, 1, '  in flight while open');
close $ws;
$m = wait_metrics($port, sub { ($_[0]{'shipoff_long_lived{socket.apps.test}'} // 1) == 0 });
is($m->{'shipoff_long_lived{socket.apps.test}'}, 0, '  not long-lived once closed');
is($m->{'shipoff_in_flight{socket.apps.test}'}, 0, '  not in flight once closed');

# the route is replaced while a connection is open: the activity moves to
# the new version, and the connection leaves that one when it closes
$ws = send_request($port, GET => '/chat', headers => {
    Host => 'socket.apps.test', Upgrade => 'websocket', Connection => 'Upgrade' });
$up = read_response($ws, head_only => 1, timeout => 5);
is($up->{status}, 101, 'another upgrade');
$m = wait_metrics($port, sub { ($_[0]{'shipoff_long_lived{socket.apps.test}'} // 0) == 1 });
$res = http(PUT => "http://127.0.0.1:$port/_shipoff/routes/socket.apps.test",
            { project => 'socket', kind => 'dynamic', upstream => "127.0.0.1:$fake_port" });
is($res->{status}, 200, '  the route is replaced while it is open');
$m = wait_metrics($port, sub { defined $_[0]{'shipoff_in_flight{socket.apps.test}'} });
is($m->{'shipoff_in_flight{socket.apps.test}'}, 1, '  still in flight');
close $ws;
$m = wait_metrics($port, sub { ($_[0]{'shipoff_long_lived{socket.apps.test}'} // 1) == 0 });
is($m->{'shipoff_long_lived{socket.apps.test}'}, 0, '  not long-lived once closed');
is($m->{'shipoff_in_flight{socket.apps.test}'}, 0, '  not in flight once closed');

$res = request($port, GET => '/_shipoff/metrics');
is($res->{status}, 200, 'metrics');
like($res->{headers}{'content-type'}, qr{^text/plain; version=0\.0\.4}, '  Prometheus text format');
my @bad = grep { !/^# (?:HELP|TYPE) \w+ .+$/
                 && !/^[a-z_]+(?:\{(?:[a-z]+="(?:[^"\\]|\\.)*",?)+\})? [0-9.]+$/ }
          split /\n/, $res->{content};
is_deeply(\@bad, [], '  every line is a comment or a sample');
like($res->{content}, qr/^shipoff_routes 14$/m, '  routes: 14');
like($res->{content}, qr/^shipoff_generation 0$/m, '  generation: 0');
my %types = $res->{content} =~ /^# TYPE (\w+) (\w+)$/mg;
is_deeply(\%types, {
    shipoff_routes => 'gauge', shipoff_generation => 'gauge',
    shipoff_requests_total => 'counter', shipoff_in_flight => 'gauge',
    shipoff_long_lived => 'gauge', shipoff_wakes_total => 'counter',
    shipoff_wake_timeouts_total => 'counter', shipoff_wake_pages_total => 'counter',
    shipoff_wake_refused_total => 'counter', shipoff_wake_seconds => 'histogram' },
    '  metric families and their types');
my @buckets = $res->{content}
    =~ /^shipoff_wake_seconds_bucket\{route="hundred\.apps\.test",project="hundred",le="([^"]+)"\} (\d+)$/mg;
my %le = @buckets;
is(scalar @buckets / 2, 10, '  histogram: 9 buckets and +Inf');
is($le{'+Inf'}, 100, '  +Inf holds every held request');
# the wake takes 0.5 s from the first request: every request sent within
# 0.25 s of it waits longer than 0.25 s (a loaded machine may take longer
# to send the hundred, and the late ones rightly wait less)
my ($hundred) = grep { $_->{host} eq 'hundred' } @cases;
SKIP: {
    skip(sprintf('sending the 100 requests took %.2f s', $hundred->{sent}), 1)
        if $hundred->{sent} >= 0.25;
    is($le{'0.25'}, 0, '  nobody waited less than the wake took');
}
my @counts = @buckets[grep { $_ % 2 } 0 .. $#buckets];
is_deeply(\@counts, [sort { $a <=> $b } @counts], '  buckets are cumulative');
my ($sum) = $res->{content} =~ /^shipoff_wake_seconds_sum\{route="hundred\.apps\.test"[^}]*\} ([0-9.]+)$/m;
ok($sum >= 100 * 0.4 && $sum <= 100 * 3, "  sum of held seconds ($sum) fits 100 requests held ~0.5 s");

$res = request($port, POST => '/_shipoff/metrics', body => '{}');
is($res->{status}, 405, 'metrics: POST is not allowed');

stop_nginx($master);
is_deeply([bad_log_lines($prefix, 'alert|emerg|crit|error')], [],
          'no [alert], [emerg], [crit] or [error] in error.log');

done_testing();


# helpers ---------------------------------------------------------------------

# GET /_shipoff/metrics as { "name{host}" => value }, polled until $ok
# says yes or 3 seconds have passed.
sub wait_metrics {
    my ($port, $ok) = @_;
    my $deadline = time + 3;
    my %m;
    while (1) {
        %m = ();
        my $res = request($port, GET => '/_shipoff/metrics');
        for (split /\n/, $res->{content}) {
            next unless /^(\w+)\{route="([^"]*)",project="[^"]*"\} ([0-9.]+)$/;
            $m{"$1\{$2\}"} = $3;
        }
        last if $ok->(\%m) || time > $deadline;
        sleep 0.05;
    }
    return \%m;
}

# The fake shipoffd in a process group of its own, a child per connection.
sub start_fake_shipoffd {
    my ($dir, $port, $nginx_port, $wake_after) = @_;
    my $listen = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$port",
        Listen => 256, ReuseAddr => 1) or die "listen: $!";
    my $pid = fork() // die "fork: $!";
    if ($pid) {
        close $listen;
        return $pid;
    }
    POSIX::setpgid(0, 0);
    $SIG{CHLD} = 'IGNORE';
    $SIG{TERM} = sub { POSIX::_exit(0) };
    while (1) {
        my $c = $listen->accept or next;
        my $child = fork();
        if (defined $child && $child == 0) {
            close $listen;
            fake_connection($c, $dir, $nginx_port, $wake_after);
            POSIX::_exit(0);
        }
        close $c;
    }
}

sub stop_fake_shipoffd {
    my ($pid) = @_;
    kill 'TERM', -$pid;
    waitpid($pid, 0);
}

sub fake_connection {
    my ($c, $dir, $nginx_port, $wake_after) = @_;
    my $head = '';
    while ($head !~ /\r\n\r\n/) {
        my $n = sysread($c, $head, 4096, length $head);
        return unless $n;
    }
    my ($path) = $head =~ m{^\w+ (\S+)};
    my ($host) = $head =~ /^Host: ([^\r:]+)/mi;
    my ($length) = $head =~ /^Content-Length: (\d+)/mi;
    my $body = substr($head, index($head, "\r\n\r\n") + 4);
    while (defined $length && length $body < $length) {    # as a server does
        my $n = sysread($c, $body, 4096, length $body);
        return unless $n;
    }

    if ($path =~ m{^/wake\?host=([^&]+)&project=(.+)$}) {
        my ($wake_host, $project, $app) = ($1, $2, '127.0.0.1:' . $c->sockport);
        open my $log, '>>', "$dir/wakes" or die;
        syswrite $log, "$wake_host $project\n";
        close $log;
        syswrite $c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        close $c;
        my $after = $wake_after->{$wake_host};
        return unless defined $after;
        sleep $after;
        http(PUT => "http://127.0.0.1:$nginx_port/_shipoff/routes/$wake_host",
             { project => $project, kind => 'dynamic', state => 'running',
               upstream => $app });
        return;
    }

    if ($head =~ /^Upgrade: websocket/mi) {
        syswrite $c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   . "Connection: Upgrade\r\n\r\n";
        1 while sysread($c, my $buf, 4096);    # until the client goes
        return;
    }

    $body = "hello $host" . (length $body ? ', ' . length($body) . ' bytes' : '');
    syswrite $c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
               . "Content-Length: " . length($body) . "\r\nConnection: close\r\n\r\n$body";
}
