#!/usr/bin/perl
# A static site's _redirects and _headers cannot hold the nginx workers
# that serve every tenant, /api and /auth, nor set cookies for the others.
#
# On the whole stack (conf/nginx.conf.in, two workers), a site carries the
# worst rules known for the old matcher: a thousand patterns /*aaa...b
# (and /*aaa...b* in _headers) that nearly match a URI of a's at every
# byte, which cost pattern times URI each.  Clients keep requesting it
# with URIs near large_client_header_buffers (70 KB: answered 414, the
# rules are not matched) and just under the length rules are matched
# against (4 KB: matched, every one of them); meanwhile GET /api/v1/health
# must keep answering within a second.  On the old matcher one of those
# requests held a worker for minutes, and health stalled.
#
# The same site's _headers asks for Set-Cookie with Domain= (cookie tossing
# across the apps domain): the header is not sent, the others are.

use strict;
use warnings;

use Test::More;
use File::Path qw(make_path);
use POSIX qw(_exit);
use Time::HiRes qw(time sleep);
use lib 'tests/integration/lib';
use ShipoffTest qw(tempdir stack_up http);
use ShipoffNginx qw(request read_file write_file);

my $RULES = 1000;       # SHIPOFF_RULES_MAX
my $PATTERN = 1024;     # SHIPOFF_RULES_PATTERN_MAX
my $URI_MAX = 4096;     # SHIPOFF_RULES_URI_MAX
my $ATTACK_SECONDS = 4;
my $ATTACKERS = 4;
my $HEALTH_MAX = 1.0;

my $s = stack_up();
my $http = $s->port('http');
my $host = "rules$$.localhost";
my $root = tempdir() . '/d1';

my $near = '/*' . ('a' x ($PATTERN - 3)) . 'b';
my $middle = '/*' . ('a' x ($PATTERN - 4)) . 'b*';

make_path($root);
write_file("$root/index.html", "<html>INDEX</html>\n");
write_file("$root/_redirects",
           join('', map { "$near /x/:splat 301\n" } 1 .. $RULES));
write_file("$root/_headers",
           "/*\n"
           . "  Set-Cookie: sid=tossed; Domain=localhost; Path=/\n"
           . "  set-cookie2: sid=tossed; Domain=.localhost\n"
           . "  X-Kept: yes\n"
           . join('', map { "$near\n  X-Near: 1\n$middle\n  X-Middle: 1\n" }
                          1 .. ($RULES - 1) / 2));

my $res = $s->control(PUT => "/_shipoff/routes/$host",
                      { project => "rules$$", kind => 'static', root => $root });
is($res->{status}, 201, 'the site is routed') or diag $res->{content};


# Cookies -----------------------------------------------------------------------

$res = request($http, GET => '/index.html', headers => { Host => $host });
is($res->{status}, 200, 'the site answers');
is($res->{headers}{'x-kept'}, 'yes', 'its other headers are sent');
ok(!exists $res->{headers}{'set-cookie'}, 'Set-Cookie from _headers is not sent');
ok(!exists $res->{headers}{'set-cookie2'}, 'nor Set-Cookie2');


# The rules still work at the bounds --------------------------------------------

my $at_cap = '/' . ('a' x ($URI_MAX - 2)) . 'b';
$res = request($http, GET => $at_cap, headers => { Host => $host });
is($res->{status}, 301, 'a URI of 4096 bytes is matched against the rules');
like($res->{headers}{location} // '', qr{/x/a{${\($URI_MAX - $PATTERN + 1)}}$},
     '  by the first rule, its splat substituted');

$res = request($http, GET => $at_cap . 'a', headers => { Host => $host });
is($res->{status}, 414,
   'a longer one on a site with rules: 414, not served without them');


# Attack and health -------------------------------------------------------------

my %attack = (
    '70 KB URI'   => { uri => '/' . ('a' x 70000), want => 414 },
    '4 KB URI'    => { uri => '/' . ('a' x ($URI_MAX - 1)), want => 404 },
);

my $results = tempdir();
my @pids;
my $until = time + $ATTACK_SECONDS;
my $i = 0;
for my $name (sort keys %attack) {
    for (1 .. $ATTACKERS / 2) {
        my $out = "$results/" . $i++;
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            my @got;
            while (time < $until) {
                my $r = request($http, GET => $attack{$name}{uri},
                                headers => { Host => $host }, timeout => 120);
                push @got, $r->{status};
            }
            write_file($out, "$name\n" . join("\n", @got) . "\n");
            _exit(0);
        }
        push @pids, $pid;
    }
}

sleep 0.3;
my (@slow, $n, $longest);
while (time < $until - 0.3) {
    my $t0 = time;
    my $h = http(GET => $s->url('/api/v1/health'));
    my $took = time - $t0;
    $n++;
    $longest = $took if !defined $longest || $took > $longest;
    push @slow, sprintf('%d after %.2f s', $h->{status}, $took)
        if $h->{status} != 200 || $took > $HEALTH_MAX;
    sleep 0.1;
}

cmp_ok($n, '>=', 5, "health was asked $n times during the attack");
note(sprintf('the slowest health answer took %.3f s', $longest // 0));
is_deeply(\@slow, [],
          "GET /api/v1/health answered 200 within ${HEALTH_MAX} s each time")
    or diag explain \@slow;

waitpid($_, 0) for @pids;

my %seen;
for my $file (glob "$results/*") {
    my ($name, @got) = split /\n/, read_file($file);
    push @{ $seen{$name} }, @got;
}
for my $name (sort keys %attack) {
    my @got = @{ $seen{$name} || [] };
    cmp_ok(scalar @got, '>', 0, "$name: answered during the attack");
    note(scalar(@got) . " requests with a $name");
    is_deeply([grep { $_ != $attack{$name}{want} } @got], [],
              "$name: every answer is $attack{$name}{want}");
}

my $log = read_file($s->var . '/log/nginx-error.log');
like($log, qr/invalid lines in ".*\/_headers" ignored, line 2: a site cannot set/,
     'the refused Set-Cookie is logged');
unlike($log, qr/\[(?:alert|emerg|crit)\]/, 'no [alert], [emerg] or [crit]');

done_testing();
