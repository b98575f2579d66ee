# Personal API tokens (create, use, list, revoke, scopes, expiry) and the
# caller's own account (GET and PATCH /api/v1/me).  A token's secret is
# shown once, at creation, and never again: not in lists, not in logs.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use ShipoffTest qw(stack_up http);

my $s = stack_up(env => { SHIPOFF_AUTH_RATE => '1000r/s' });
my $pw = 'correct horse battery';
my @secrets = ($pw);

my $a = $s->signup(name => 'Ann');
my $b = $s->signup(name => 'Bob');
push @secrets, map { ($_->{access_token}, $_->{refresh_token}) } $a, $b;

sub api {
    my ($method, $path, $who, $body) = @_;
    return http($method => $s->url("/api/v1/$path"), $body,
                defined $who ? $s->auth_header($who) : {});
}

sub psql { $s->psql(@_) }

sub mint {
    my ($who, %body) = @_;
    my $res = api(POST => 'tokens', $who, { name => 'ci', %body });
    push @secrets, $res->{json}{token} if $res->{json} && $res->{json}{token};
    return $res;
}

# --- create and use -----------------------------------------------------

my $res = mint($a, name => 'laptop', scopes => ['WRITE', 'READ', 'DELETE']);
is($res->{status}, 201, 'create: 201') or diag $res->{content};
my $t = $res->{json} || {};
like($t->{token} // '', qr/^sho_[\w-]{43}$/, 'create: a sho_ token');
is(substr($t->{token} // '', 0, length($t->{prefix} // 'x')), $t->{prefix},
   'create: the prefix starts the token');
cmp_ok(length($t->{prefix} // ''), '<', 16, 'create: the prefix is short');
is_deeply($t->{scopes}, ['READ', 'WRITE', 'DELETE'], 'create: the scopes');
is($t->{name}, 'laptop', 'create: the name');
ok(exists $t->{expires_at} && !defined $t->{expires_at},
   'create: no expiry unless asked');
like($t->{created_at} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
     'create: created_at');
is(psql("SELECT count(*) FROM api_tokens WHERE token_hash = '$t->{token}'"
        . " OR prefix = '$t->{token}'"), 0,
   'the table does not hold the token');

$res = api(GET => 'me', $t->{token});
is($res->{status}, 200, 'the PAT works on /me');
is($res->{json}{id}, $a->{user}{id}, 'the PAT is its owner');

my $tb = mint($b, scopes => ['READ'], expires_in => 3600)->{json};
like($tb->{expires_at} // '', qr/^\d{4}-/, 'expires_in sets expires_at');

# bad input
my @bad = (
    [ { scopes => ['READ'] },                           'name' ],
    [ { name => '', scopes => ['READ'] },               'name' ],
    [ { name => 'n' x 101, scopes => ['READ'] },        'name' ],
    [ { name => 'x' },                                  'scopes' ],
    [ { name => 'x', scopes => [] },                    'scopes' ],
    [ { name => 'x', scopes => 'READ' },                'scopes' ],
    [ { name => 'x', scopes => ['ADMIN'] },             'scopes' ],
    [ { name => 'x', scopes => ['read'] },              'scopes' ],
    [ { name => 'x', scopes => [1] },                   'scopes' ],
    [ { name => 'x', scopes => ['READ'], expires_in => 59 }, 'expires_in' ],
    [ { name => 'x', scopes => ['READ'], expires_in => 366 * 86400 }, 'expires_in' ],
    [ { name => 'x', scopes => ['READ'], expires_in => '3600' }, 'expires_in' ],
    [ { name => 'x', scopes => ['READ'], expires_in => 1.5 }, 'expires_in' ],
    [ { name => 'x', scopes => ['READ'], owner => 1 },  'owner' ],
);
for my $c (@bad) {
    my ($body, $field) = @$c;
    my $res = api(POST => 'tokens', $a, $body);
    my $what = ShipoffTest::json_encode($body);
    $what = substr($what, 0, 60) . '...' if length $what > 60;
    is($res->{status}, 422, "create $what: 422");
    is($res->{json}{error}{field}, $field, "create $what: field $field");
}
is(api(POST => 'tokens', undef, { name => 'x', scopes => ['READ'] })
   ->{status}, 401, 'create without credentials: 401');

# --- scopes -------------------------------------------------------------

my $ro = mint($a, name => 'ro', scopes => ['READ'])->{json}{token};
is(api(GET => 'me', $ro)->{status}, 200, 'a READ token reads /me');
$res = api(PATCH => 'me', $ro, { name => 'Mallory' });
is($res->{status}, 403, 'a READ token cannot PATCH /me');
is($res->{json}{error}{code}, 'insufficient_scope', '... insufficient_scope');
is(mint($ro, scopes => ['READ'])->{status}, 403,
   'a READ token cannot mint tokens');
is(api(DELETE => "tokens/$t->{id}", $ro)->{status}, 403,
   'a READ token cannot revoke tokens');

my $rw = mint($a, name => 'rw', scopes => ['READ', 'WRITE'],
              expires_in => 600)->{json};
$res = mint($rw->{token}, scopes => ['READ', 'DELETE']);
is($res->{status}, 403, 'a token cannot mint scopes it lacks');
is($res->{json}{error}{code}, 'insufficient_scope', '... insufficient_scope');
$res = mint($rw->{token}, scopes => ['READ']);
is($res->{status}, 201, 'a token may mint a narrower one');
is($res->{json}{expires_at}, $rw->{expires_at},
   'which ends when its parent ends, without expires_in');
$res = mint($rw->{token}, scopes => ['READ'], expires_in => 86400);
is($res->{json}{expires_at}, $rw->{expires_at},
   'and cannot outlive its parent with expires_in');

# --- list ---------------------------------------------------------------

$res = api(GET => 'tokens', $a);
is($res->{status}, 200, 'list: 200');
my @mine = @{ $res->{json}{data} || [] };
is(scalar @mine, 5, "list: the caller's 5 tokens, not the other user's");
ok(!grep({ exists $_->{token} || exists $_->{token_hash} } @mine),
   'list: no token or hash field');
my @in_list = grep { index($res->{content}, $_) >= 0 }
    grep { /^sho_/ } @secrets;
is(scalar @in_list, 0, 'list: no secret anywhere in the answer');
my ($used) = grep { $_->{id} == $t->{id} } @mine;
like($used->{last_used_at} // '', qr/^\d{4}-/, 'list: last_used_at of a '
     . 'used token');
ok(exists $mine[-1]{last_used_at}, 'list: last_used_at present when null');

$res = api(GET => 'tokens?limit=2', $a);
is(scalar @{ $res->{json}{data} }, 2, 'list: limit=2 gives 2');
ok(defined $res->{json}{next_cursor}, 'list: a next_cursor');
my $res2 = api(GET => "tokens?limit=2&cursor=$res->{json}{next_cursor}", $a);
is($res2->{json}{data}[0]{id}, $mine[2]{id}, 'list: the next page follows');
is(api(GET => 'tokens?limit=0', $a)->{status}, 422, 'list: limit=0 is 422');

# --- revoke and expire --------------------------------------------------

is(api(DELETE => "tokens/$t->{id}", $b)->{status}, 404,
   "another user's token: 404");
is(api(GET => 'me', $t->{token})->{status}, 200, 'still alive');
is(api(DELETE => "tokens/$t->{id}", $a)->{status}, 204, 'revoke: 204');
$res = api(GET => 'me', $t->{token});
is($res->{status}, 401, 'a revoked token: 401');
is($res->{headers}{'www-authenticate'}, 'Bearer', '... WWW-Authenticate');
is(api(DELETE => "tokens/$t->{id}", $a)->{status}, 404, 'revoke again: 404');
for my $id ('abc', '0', '-1', '99999999999999999999', '1e3') {
    is(api(DELETE => "tokens/$id", $a)->{status}, 404, "revoke '$id': 404");
}
ok(!grep({ $_->{id} == $t->{id} } @{ api(GET => 'tokens', $a)->{json}{data} }),
   'a revoked token leaves the list');

is(api(GET => 'me', $tb->{token})->{status}, 200, 'before expiry: 200');
psql("UPDATE api_tokens SET expires_at = now() - interval '1 s'"
     . " WHERE id = $tb->{id}");
is(api(GET => 'me', $tb->{token})->{status}, 401, 'an expired token: 401');

# --- PATCH /me ----------------------------------------------------------

$res = api(PATCH => 'me', $a, { name => 'Ann B.' });
is($res->{status}, 200, 'rename: 200');
is($res->{json}{name}, 'Ann B.', 'rename: the new name');
is(api(GET => 'me', $a)->{json}{name}, 'Ann B.', 'rename: kept');

my $new = 'battery staple horse';
push @secrets, $new;
my @patch = (
    [ { email => 'x@example.com' }, 422, 'unknown_field', 'email' ],
    [ { name => 'n' x 101 },        422, 'validation_failed', 'name' ],
    [ { password => $new },         422, 'validation_failed', 'old_password' ],
    [ { old_password => $pw },      422, 'validation_failed', 'password' ],
    [ { password => 'short', old_password => $pw },
                                    422, 'weak_password', 'password' ],
    [ { password => $a->{user}{email}, old_password => $pw },
                                    422, 'weak_password', 'password' ],
    [ { password => $new, old_password => 'wrong old one' },
                                    403, 'invalid_credentials', 'old_password' ],
);
for my $c (@patch) {
    my ($body, $status, $code, $field) = @$c;
    my $res = api(PATCH => 'me', $a, $body);
    my $what = join ',', sort keys %$body;
    is($res->{status}, $status, "PATCH /me {$what}: $status");
    is($res->{json}{error}{code}, $code, "PATCH /me {$what}: $code");
    is($res->{json}{error}{field}, $field, "PATCH /me {$what}: $field");
}

my $other = http(POST => $s->url('/auth/v1/login'),
                 { email => $a->{user}{email}, password => $pw })->{json};
push @secrets, $other->{refresh_token}, $other->{access_token};
is(api(GET => 'me', $other->{access_token})->{status}, 200,
   'before the password change, another session\'s access token works');
$res = api(PATCH => 'me', $a, { password => $new, old_password => $pw });
is($res->{status}, 200, 'password change: 200');
for my $rt ($a->{refresh_token}, $other->{refresh_token}) {
    is(http(POST => $s->url('/auth/v1/refresh'), { refresh_token => $rt })
       ->{status}, 401, 'password change: every earlier session is revoked');
}
for my $at ($a->{access_token}, $other->{access_token}) {
    is(api(GET => 'me', $at)->{status}, 401,
       'password change: an access token issued before it: 401 on /me');
    is(http(GET => $s->url('/api/v1/projects'), undef,
            { Authorization => "Bearer $at" })->{status}, 401,
       '  and on any other endpoint');
}
is(http(POST => $s->url('/auth/v1/login'),
        { email => $a->{user}{email}, password => $pw })->{status}, 401,
   'the old password no longer logs in');
$res = http(POST => $s->url('/auth/v1/login'),
            { email => $a->{user}{email}, password => $new });
is($res->{status}, 200, 'the new password logs in');
push @secrets, $res->{json}{access_token}, $res->{json}{refresh_token};

# --- no secret in any log -----------------------------------------------

my $logs = $s->logs;
ok(length $logs, 'the logs are not empty');
my @leaks = grep { index($logs, $_) >= 0 } grep { length } @secrets;
is(scalar @leaks, 0, 'no password or token in any log file')
    or diag "leaked: @leaks";

done_testing();
