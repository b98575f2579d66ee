# Environment variables: set, list, change, remove; key and value rules;
# secret values sealed (the column is not the plaintext), never in any
# answer and never in any log; who may read and who may change them.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use ShipoffTest qw(stack_up http);

my $s = stack_up(env => { SHIPOFF_AUTH_RATE => '1000r/s',
                          SHIPOFF_AUTH_BURST => 1000 });

sub api {
    my ($method, $path, $who, $body) = @_;
    return http($method => $s->url($path), $body,
                $who ? $s->auth_header($who) : {});
}

my ($alice, $bob, $carol) = map { $s->signup } 1 .. 3;
my $res = api(POST => '/api/v1/projects', $alice,
              { name => 'envapp', repo_url => 'https://h.example/x.git' });
my $pid = $res->{json}{id};
my $e = "/api/v1/projects/$pid/env";
my $secret = "s3cr3t-" . join '', map { chr(97 + int rand 26) } 1 .. 24;

$res = api(PUT => "$e/DATABASE_URL", $alice,
           { value => 'postgres://db/app', target => 'runtime' });
is($res->{status}, 201, 'set plain: 201') or diag($res->{content});
is_deeply([ @{ $res->{json} }{qw(key value target)} ],
          [ 'DATABASE_URL', 'postgres://db/app', 'runtime' ],
          'set plain: the answer');
ok(!$res->{json}{secret}, 'set plain: not secret');

$res = api(PUT => "$e/API_KEY", $alice, { value => $secret, secret => \1 });
is($res->{status}, 201, 'set secret: 201');
is($res->{json}{value}, undef, 'set secret: value null in the answer');
ok($res->{json}{secret}, 'set secret: secret true');
is($res->{json}{target}, 'both', 'set secret: target defaults to both');
unlike($res->{content}, qr/\Q$secret\E/, 'set secret: not in the answer');

$res = api(PUT => "$e/DATABASE_URL", $alice,
           { value => 'postgres://db/app2', target => 'build' });
is($res->{status}, 200, 'change: 200');
is($res->{json}{target}, 'build', 'change: target');

$res = api(GET => $e, $alice);
is($res->{status}, 200, 'list: 200');
is_deeply([ map { [ $_->{key}, $_->{value}, $_->{secret} ? 1 : 0 ] }
            @{ $res->{json}{data} } ],
          [ [ 'API_KEY', undef, 1 ], [ 'DATABASE_URL', 'postgres://db/app2',
            0 ] ], 'list: secrets masked as null');
unlike($res->{content}, qr/\Q$secret\E/, 'list: the secret is nowhere');

my $col = $s->psql("SELECT value FROM env_vars WHERE key = 'API_KEY'");
ok(length $col && index($col, $secret) < 0,
   'the secret column is not the plaintext');
is($s->psql("SELECT key_version FROM env_vars WHERE key = 'API_KEY'"), 1,
   'key_version 1');

# a sealed value moved to another key does not open: checked through the
# API only by its absence; the unit of sealing is so_env_seal (AAD)

# ---- rules

for my $c (
    [ 'lower', 'lower_case' ], [ 'digit', '1ABC' ], [ 'dash', 'A-B' ],
    [ 'long', 'A' x 129 ], [ 'PATH', 'PATH' ], [ 'LD_PRELOAD', 'LD_PRELOAD' ],
    [ 'PORT', 'PORT' ], [ 'HOME', 'HOME' ], [ 'SHIPOFF_', 'SHIPOFF_TOKEN' ],
    [ 'NODE_OPTIONS', 'NODE_OPTIONS' ], [ 'sql', "A%27%3BDROP" ],
) {
    my ($name, $key) = @$c;
    $res = api(PUT => "$e/$key", $alice, { value => 'x' });
    is($res->{status}, 422, "key $name: 422") or diag($res->{content});
    is($res->{json}{error}{field}, 'key', "key $name: field key");
}
like(api(PUT => "$e/PATH", $alice, { value => 'x' })->{json}{error}{message},
     qr/reserved/, 'a blocked key says why');
is(api(PUT => "$e/" . ('A' x 128), $alice, { value => 'x' })->{status}, 201,
   'a 128-character key');
is(api(PUT => "$e/_X1", $alice, { value => '' })->{status}, 201,
   'an empty value');
is(api(PUT => "$e/BIG", $alice, { value => 'x' x 32768 })->{status}, 201,
   'a 32 KiB value');

for my $c (
    [ 'too big', { value => 'x' x 32769 }, 'value' ],
    [ 'no value', { secret => \1 }, 'value' ],
    [ 'number', { value => 5 }, 'value' ],
    [ 'bad target', { value => 'x', target => 'prod' }, 'target' ],
    [ 'bad secret', { value => 'x', secret => 'yes' }, 'secret' ],
    [ 'unknown', { value => 'x', scope => 'a' }, 'scope' ],
) {
    $res = api(PUT => "$e/OK_KEY", $alice, $c->[1]);
    is($res->{status}, 422, "$c->[0]: 422") or diag($res->{content});
    is($res->{json}{error}{field}, $c->[2], "$c->[0]: field $c->[2]");
}

# ---- who

error_is_status(api(GET => $e, $bob), 404, 'a stranger: 404 on list');
error_is_status(api(PUT => "$e/X", $bob, { value => 'x' }), 404,
                'a stranger: 404 on set');
api(POST => "/api/v1/projects/$pid/members", $alice,
    { user_id => $bob->{user}{id}, scopes => ['READ'] });
is(api(GET => $e, $bob)->{status}, 200, 'a reader lists');
error_is_status(api(PUT => "$e/X", $bob, { value => 'x' }), 403,
                'a reader cannot set');
error_is_status(api(DELETE => "$e/API_KEY", $bob), 403,
                'a reader cannot remove');

sub error_is_status {
    my ($r, $status, $name) = @_;
    is($r->{status}, $status, $name) or diag($r->{content});
}

# ---- remove

is(api(DELETE => "$e/API_KEY", $alice)->{status}, 204, 'remove: 204');
is(api(DELETE => "$e/API_KEY", $alice)->{status}, 404, 'remove twice: 404');
is(api(DELETE => "$e/lower", $alice)->{status}, 422, 'remove a bad key: 422');

# ---- logs

my $logs = $s->logs;
ok(length $logs, 'there are logs to search');
ok(index($logs, $secret) < 0, 'the secret is in no log');

done_testing;
