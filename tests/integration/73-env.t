# Environment variables: set, list, change, remove; key rules (a grammar
# of either case, then refused families and names, each answer naming
# its rule) and value rules;
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

# the grammar, then the rules (lib/so_env.c); the message names the rule
my $grammar = qr/^key must match \Q^[A-Za-z_][A-Za-z0-9_]{0,127}\E\$$/;
for my $c (
    [ 'digit', '1ABC', $grammar ], [ 'dash', 'A-B', $grammar ],
    [ 'long', 'A' x 129, $grammar ], [ 'sql', "A%27%3BDROP", $grammar ],
    [ 'PATH', 'PATH', qr/^key is reserved: PATH is set by the platform$/ ],
    [ 'PORT', 'PORT', qr/reserved: PORT / ],
    [ 'HOME', 'HOME', qr/reserved: HOME / ],
    [ 'HOST', 'HOST', qr/reserved: HOST / ],
    [ 'SHIPOFF_', 'SHIPOFF_TOKEN', qr/reserved: SHIPOFF_\* / ],
    [ 'LD_PRELOAD', 'LD_PRELOAD',
      qr/^key is reserved: LD_\* is read by the dynamic loader or libc$/ ],
    [ 'LD_DEBUG_OUTPUT', 'LD_DEBUG_OUTPUT', qr/reserved: LD_\* / ],
    [ 'LD_PROFILE_OUTPUT', 'LD_PROFILE_OUTPUT', qr/reserved: LD_\* / ],
    [ 'ld_preload', 'ld_preload', qr/reserved: LD_\* / ],
    [ 'MALLOC_TRACE', 'MALLOC_TRACE', qr/reserved: MALLOC_\* / ],
    [ 'GLIBC_TUNABLES', 'GLIBC_TUNABLES', qr/reserved: GLIBC_\* / ],
    [ 'GCONV_PATH', 'GCONV_PATH', qr/reserved: GCONV_PATH / ],
    [ 'BASH_ENV', 'BASH_ENV', qr/reserved: BASH_\* is read by the shell/ ],
    [ 'GIT_SSH_COMMAND', 'GIT_SSH_COMMAND', qr/reserved: GIT_\* / ],
    [ 'NODE_OPTIONS', 'NODE_OPTIONS', qr/reserved: NODE_OPTIONS makes/ ],
) {
    my ($name, $key, $why) = @$c;
    $res = api(PUT => "$e/$key", $alice, { value => 'x' });
    is($res->{status}, 422, "key $name: 422") or diag($res->{content});
    is($res->{json}{error}{code}, 'validation_failed',
       "key $name: validation_failed");
    is($res->{json}{error}{field}, 'key', "key $name: field key");
    like($res->{json}{error}{message}, $why, "key $name: names the rule");
}
is($s->psql("SELECT count(*) FROM env_vars"
            . " WHERE key ~* '^(ld|malloc|glibc)_'"),
   0, 'none of those was stored');

# what Heroku and Vercel users set is theirs, lower case included
for my $key (qw(lower_case npm_config_registry NODE_ENV NODE_PATH
                PYTHONUNBUFFERED LDAP_URL GITHUB_TOKEN TZ)) {
    is(api(PUT => "$e/$key", $alice, { value => 'x' })->{status}, 201,
       "key $key: 201");
}
is(api(DELETE => "$e/$_", $alice)->{status}, 204, "remove $_")
    for qw(lower_case npm_config_registry NODE_ENV NODE_PATH
           PYTHONUNBUFFERED LDAP_URL GITHUB_TOKEN TZ);
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
is(api(DELETE => "$e/1ABC", $alice)->{status}, 422, 'remove a bad key: 422');

# stored before a rule refused it: it can still be removed
$s->psql("INSERT INTO env_vars (project_id, key, value)"
         . " VALUES ($pid, 'LD_DEBUG_OUTPUT', '/etc/x')");
is(api(DELETE => "$e/LD_DEBUG_OUTPUT", $alice)->{status}, 204,
   'remove a key stored before its rule: 204');
is(api(DELETE => "$e/LD_DEBUG_OUTPUT", $alice)->{status}, 404,
   '... and it is gone');

# ---- logs

my $logs = $s->logs;
ok(length $logs, 'there are logs to search');
ok(index($logs, $secret) < 0, 'the secret is in no log');

done_testing;
