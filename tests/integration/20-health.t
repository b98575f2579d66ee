# The first vertical slice: nginx -> FastCGI app -> PostgreSQL and Redis,
# and what each app answers when a part of the platform is down.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use ShipoffTest qw(stack_up http);

my $s = stack_up();

sub health_is {
    my ($status, $db, $redis, $name) = @_;
    my $res = http(GET => $s->url('/api/v1/health'));
    is($res->{status}, $status, "$name: status $status");
    is($res->{headers}{'content-type'}, 'application/json',
       "$name: JSON");
    is($res->{json}{db}, $db, "$name: db $db");
    is($res->{json}{redis}, $redis, "$name: redis $redis");
    like($res->{json}{version} // '', qr/^\d+\.\d+\.\d+$/,
         "$name: version");
    return $res;
}

my $res = health_is(200, 'ok', 'ok', 'all up');
is($res->{json}{status}, 'ok', 'all up: status ok');

for my $path ('/auth/v1/health', '/hooks/health') {
    my $r = http(GET => $s->url($path));
    is($r->{status}, 200, "$path answers 200");
    is($r->{json}{status}, 'ok', "$path says ok");
}

# routing of the apps: unknown endpoints and methods are JSON errors
my @cases = (
    [ GET  => '/api/v1/nope',   404, 'not_found' ],
    [ POST => '/api/v1/health', 405, 'method_not_allowed' ],
    [ GET  => '/auth/v1/nope',  404, 'not_found' ],
    [ GET  => '/hooks/nope',    404, 'not_found' ],
);
for my $c (@cases) {
    my ($method, $path, $status, $code) = @$c;
    my $r = http($method => $s->url($path));
    is($r->{status}, $status, "$method $path: $status");
    is($r->{json}{error}{code}, $code, "$method $path: error code $code");
    ok(length($r->{json}{error}{message} // ''), "$method $path: message");
}

# Redis down: 503 naming Redis; back up: 200 again without a restart
$s->stop('redis');
$res = health_is(503, 'ok', 'unavailable', 'redis stopped');
isnt($res->{json}{status}, 'ok', 'redis stopped: status is not ok');
$s->start('redis');
health_is(200, 'ok', 'ok', 'redis restarted');

# PostgreSQL down: 503 naming the database
$s->stop('postgres');
health_is(503, 'unavailable', 'ok', 'postgres stopped');
$s->start('postgres');
health_is(200, 'ok', 'ok', 'postgres restarted');

# an app down: nginx answers 503 in JSON, not an HTML page
$s->stop('api');
$res = http(GET => $s->url('/api/v1/health'));
is($res->{status}, 503, 'api stopped: 503');
is($res->{json}{error}{code}, 'unavailable', 'api stopped: JSON error');
$s->start('api');

done_testing();
