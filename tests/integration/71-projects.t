# Projects: create (name and repo_url rules, the webhook secret shown once
# and sealed), list, read, change, delete (the event for the builder),
# domain checks, access (grants to users and teams, transfer offers), the
# authorization matrix of every endpoint that takes a project id, and a
# second stack with the production settings (https only, SSRF guard).

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use ShipoffTest qw(stack_up http run);

my $s = stack_up(env => { SHIPOFF_AUTH_RATE => '1000r/s',
                          SHIPOFF_AUTH_BURST => 1000 });

sub api {
    my ($method, $path, $who, $body) = @_;
    return http($method => $s->url($path), $body,
                $who ? $s->auth_header($who) : {});
}

sub error_is {
    my ($res, $status, $code, $name, $field) = @_;
    is($res->{status}, $status, "$name: $status") or diag($res->{content});
    is($res->{json}{error}{code}, $code, "$name: $code") if defined $code;
    is($res->{json}{error}{field}, $field, "$name: field $field")
        if defined $field;
}

my %u;
$u{$_} = $s->signup(email => "$_-$$\@example.com")
    for qw(alice bob carol dave erin);
my ($alice, $bob, $carol, $dave, $erin) = @u{qw(alice bob carol dave erin)};
my $repo = 'https://git.example.org/alice/blog.git';

# ---- create

error_is(api(POST => '/api/v1/projects', undef, { name => 'x' }), 401,
         'unauthorized', 'no credential');

my $res = api(POST => '/api/v1/projects', $alice,
              { name => 'blog', repo_url => $repo, branch => 'main' });
is($res->{status}, 201, 'create: 201') or diag($res->{content});
my $p = $res->{json};
my $pid = $p->{id};
like($pid, qr/^\d+$/, 'create: an id');
is($p->{name}, 'blog', 'create: name');
like($p->{url}, qr{^http://blog\.localhost:\d+$},
     'create: url with the public port');
is($p->{webhook_url}, $s->url('/hooks/github'), 'create: webhook_url');
like($p->{webhook_secret}, qr/^[0-9a-f]{64}$/,
     'create: a 32-byte hex webhook secret');
is_deeply($p->{owner}, { type => 'user', id => $alice->{user}{id} },
          'create: owned by the caller');
is($p->{kind}, 'auto', 'create: kind defaults to auto');
is($p->{root_dir}, '', 'create: root_dir defaults to ""');
is($p->{github_hook}{id}, undef, 'create: no GitHub hook without GitHub');
my $secret = $p->{webhook_secret};

my $enc = $s->psql("SELECT webhook_secret_enc FROM projects WHERE id = $pid");
ok(length $enc && index($enc, $secret) < 0,
   'the stored webhook secret is sealed, not the plaintext');

$res = api(GET => "/api/v1/projects/$pid", $alice);
is($res->{status}, 200, 'get: 200');
ok(!exists $res->{json}{webhook_secret}, 'get: the secret is not shown');
unlike($res->{content}, qr/$secret/, 'get: nowhere in the answer');

$res = api(POST => '/api/v1/projects', $alice,
           { name => 'full', repo_url => $repo, branch => 'release/1.x',
             root_dir => 'apps/web', kind => 'dynamic', framework => 'express',
             runtime => 'node', install_cmd => 'npm ci',
             build_cmd => 'npm run build', run_cmd => 'node server.js',
             output_dir => 'dist', health_path => '/healthz' });
is($res->{status}, 201, 'create with every setting') or diag($res->{content});
is_deeply([ @{ $res->{json} }{qw(branch root_dir kind framework runtime
                                  install_cmd build_cmd run_cmd output_dir
                                  health_path)} ],
          [ 'release/1.x', 'apps/web', 'dynamic', 'express', 'node', 'npm ci',
            'npm run build', 'node server.js', 'dist', '/healthz' ],
          'create: settings stored');
my $full = $res->{json}{id};

# ---- name rules

for my $c (
    [ 'a', 201 ], [ 'a-b-c', 201 ], [ '0day', 201 ], [ 'x' x 63, 201 ],
    [ 'x' x 64, 422 ], [ '', 422 ], [ 'Blog2', 422 ], [ '-lead', 422 ],
    [ 'trail-', 422 ], [ 'under_score', 422 ], [ 'dot.ted', 422 ],
    [ 'api', 422 ], [ 'www', 422 ], [ 'admin', 422 ], [ '_shipoff', 422 ],
    [ 'localhost', 422 ], [ "x'; DROP TABLE projects;--", 422 ],
    [ 'blog', 409 ],
) {
    my ($name, $status) = @$c;
    $res = api(POST => '/api/v1/projects', $alice,
               { name => $name, repo_url => $repo });
    is($res->{status}, $status, "name '" . substr($name, 0, 20) . "': $status")
        or diag($res->{content});
    is($res->{json}{error}{field}, 'name', "name '$name': field name")
        if $status != 201;
}
$res = http(POST => $s->url('/api/v1/projects'),
            '{"name":"caf\u00e9","repo_url":"' . $repo . '"}',
            $s->auth_header($alice));
error_is($res, 422, 'validation_failed', 'a non-ASCII name', 'name');
is($s->psql("SELECT count(*) FROM projects WHERE name = 'blog'"), 1,
   'a duplicate name made no row');

# ---- other fields

for my $c (
    [ 'no repo_url',  { name => 'n1' }, 'repo_url' ],
    [ 'ftp repo',     { name => 'n1', repo_url => 'ftp://h/x.git' },
      'repo_url' ],
    [ 'credentials',  { name => 'n1', repo_url => 'https://u:p@h.org/x' },
      'repo_url' ],
    [ 'no path',      { name => 'n1', repo_url => 'https://h.org' },
      'repo_url' ],
    [ 'space',        { name => 'n1', repo_url => 'https://h.org/a b' },
      'repo_url' ],
    [ 'long repo',    { name => 'n1', repo_url => 'https://h.org/' . 'x' x 3000 },
      'repo_url' ],
    [ 'bad branch',   { name => 'n1', repo_url => $repo, branch => '../x' },
      'branch' ],
    [ 'dash branch',  { name => 'n1', repo_url => $repo, branch => '-x' },
      'branch' ],
    [ 'root escape',  { name => 'n1', repo_url => $repo, root_dir => 'a/../..' },
      'root_dir' ],
    [ 'root abs',     { name => 'n1', repo_url => $repo, root_dir => '/etc' },
      'root_dir' ],
    [ 'bad kind',     { name => 'n1', repo_url => $repo, kind => 'both' },
      'kind' ],
    [ 'bad runtime',  { name => 'n1', repo_url => $repo, runtime => 'ruby' },
      'runtime' ],
    [ 'cmd newline',  { name => 'n1', repo_url => $repo,
                        build_cmd => "a\nb" }, 'build_cmd' ],
    [ 'long cmd',     { name => 'n1', repo_url => $repo,
                        run_cmd => 'x' x 1025 }, 'run_cmd' ],
    [ 'health',       { name => 'n1', repo_url => $repo,
                        health_path => 'healthz' }, 'health_path' ],
    [ 'number name',  { name => 5, repo_url => $repo }, 'name' ],
    [ 'unknown',      { name => 'n1', repo_url => $repo, owner => 1 },
      'owner' ],
) {
    my ($name, $body, $field) = @$c;
    $res = api(POST => '/api/v1/projects', $alice, $body);
    is($res->{status}, 422, "$name: 422") or diag($res->{content});
    is($res->{json}{error}{field}, $field, "$name: field $field");
}

$res = http(POST => $s->url('/api/v1/projects'), '{"name":',
            { %{ $s->auth_header($alice) } });
is($res->{status}, 400, 'malformed JSON: 400');

# this stack allows http:// and file:// and private hosts (development)
$res = api(POST => '/api/v1/projects', $alice,
           { name => 'local', repo_url => 'http://127.0.0.1:1/x.git' });
is($res->{status}, 201, 'allow_* = 1: http:// on loopback is accepted')
    or diag($res->{content});

# ---- domains/check

for my $c (
    [ 'free-name', 1, undef ], [ 'blog', 0, 'is taken' ],
    [ 'api', 0, 'is reserved' ], [ 'Bad', 0, qr/a-z/ ],
) {
    my ($name, $avail, $reason) = @$c;
    $res = api(GET => "/api/v1/domains/check?name=$name", $bob);
    is($res->{status}, 200, "check $name: 200");
    is($res->{json}{available} ? 1 : 0, $avail, "check $name: available");
    if (ref $reason) { like($res->{json}{reason}, $reason, "check $name") }
    else { is($res->{json}{reason}, $reason, "check $name: reason") }
}
error_is(api(GET => '/api/v1/domains/check', $bob), 422, 'validation_failed',
         'check without name', 'name');

# ---- list

$res = api(GET => '/api/v1/projects?limit=2', $alice);
is($res->{status}, 200, 'list: 200');
is(scalar @{ $res->{json}{data} }, 2, 'list: a page of 2');
ok($res->{json}{next_cursor}, 'list: a next cursor');
my @all;
my $cursor = '';
for (1 .. 20) {
    $res = api(GET => "/api/v1/projects?limit=3$cursor", $alice);
    push @all, @{ $res->{json}{data} };
    last unless $res->{json}{next_cursor};
    $cursor = "&cursor=$res->{json}{next_cursor}";
}
ok((grep { $_->{id} == $pid } @all), 'list: the project is listed');
ok(!(grep { exists $_->{webhook_secret} } @all), 'list: no secrets');
is_deeply(api(GET => '/api/v1/projects', $bob)->{json}{data}, [],
          'list: another user sees none');

# ?q= (the console's search): name or repository URL, any case, paged
# like the whole list; another user's project never matches
my @names = sort map { $_->{name} } @all;
for my $case (['FUL', ['full']], ['0da', ['0day']], ['zzz', []],
              ['', \@names])
{
    my ($q, $want) = @$case;
    my (@got, $c);
    for (1 .. 20) {
        $res = api(GET => "/api/v1/projects?limit=1&q=$q"
                          . ($c ? "&cursor=$c" : ''), $alice);
        is($res->{status}, 200, "list q=$q: 200") or last;
        push @got, map { $_->{name} } @{ $res->{json}{data} };
        last unless $c = $res->{json}{next_cursor};
    }
    is_deeply([sort @got], $want, "list q=$q: @$want");
}
my @repo_hits = @{ api(GET => '/api/v1/projects?limit=100&q=' . (split m{/}, $repo)[-1],
                       $alice)->{json}{data} };
ok(@repo_hits >= 1, 'list q=<repository name>: found by its URL');
is_deeply(api(GET => '/api/v1/projects?q=blog', $bob)->{json}{data}, [],
          "list q=blog: not another user's");
error_is(api(GET => '/api/v1/projects?q=' . ('a' x 101), $alice), 422,
         'validation_failed', 'list q too long', 'q');

# ---- update

$res = api(PATCH => "/api/v1/projects/$pid", $alice,
           { branch => 'dev', framework => 'vite', build_cmd => 'make' });
is($res->{status}, 200, 'patch: 200') or diag($res->{content});
is($res->{json}{branch}, 'dev', 'patch: branch changed');
is($res->{json}{repo_url}, $repo, 'patch: repo_url left alone');
$res = api(PATCH => "/api/v1/projects/$pid", $alice, { framework => undef });
is($res->{json}{framework}, undef, 'patch: null clears framework');
is($res->{json}{build_cmd}, 'make', 'patch: other fields kept');
error_is(api(PATCH => "/api/v1/projects/$pid", $alice, { name => undef }),
         422, 'validation_failed', 'patch: name cannot be null', 'name');
error_is(api(PATCH => "/api/v1/projects/$pid", $alice, { name => 'full' }),
         409, 'name_taken', 'patch: a taken name', 'name');
error_is(api(PATCH => "/api/v1/projects/$pid", $alice, { name => 'www' }),
         422, 'validation_failed', 'patch: a reserved name', 'name');
$res = api(PATCH => "/api/v1/projects/$pid", $alice, { name => 'blog' });
is($res->{status}, 200, 'patch: its own name again is fine');
$res = api(PATCH => "/api/v1/projects/$pid", $alice, { name => 'blog2' });
is($res->{json}{name}, 'blog2', 'patch: renamed');
like($res->{json}{url}, qr{^http://blog2\.}, 'patch: url follows the name');

# ---- webhook secret rotation

$res = api(POST => "/api/v1/projects/$pid/webhook-secret", $alice);
is($res->{status}, 200, 'rotate: 200') or diag($res->{content});
like($res->{json}{webhook_secret}, qr/^[0-9a-f]{64}$/, 'rotate: a new one');
isnt($res->{json}{webhook_secret}, $secret, 'rotate: a different one');
isnt($s->psql("SELECT webhook_secret_enc FROM projects WHERE id = $pid"),
     $enc, 'rotate: stored anew');
my $rotated = $res->{json}{webhook_secret};

# ---- access: grants and the authorization matrix

my $reader = $bob;     # READ
my $writer = $carol;   # READ, WRITE
my $stranger = $dave;  # nothing

# an address nobody verified names no one: whoever signed up with it may
# not be the person the owner means
error_is(api(POST => "/api/v1/projects/$pid/members", $alice,
             { email => "BOB-$$\@example.com", scopes => ['READ'] }),
         404, 'not_found', 'grant by an unverified email', 'email');
$s->psql("UPDATE users SET email_verified = true"
         . " WHERE id = $bob->{user}{id}");
$res = api(POST => "/api/v1/projects/$pid/members", $alice,
           { email => "BOB-$$\@example.com", scopes => ['READ'] });
is($res->{status}, 200, 'grant READ by a verified email: 200')
    or diag($res->{content});
$res = api(POST => "/api/v1/projects/$pid/members", $alice,
           { user_id => $carol->{user}{id}, scopes => ['WRITE'] });
is($res->{status}, 200, 'grant WRITE by id: 200');
is_deeply([ map { [ $_->{user_id}, $_->{scopes} ] }
            @{ $res->{json}{members} } ],
          [ [ $bob->{user}{id}, ['READ'] ],
            [ $carol->{user}{id}, [ 'READ', 'WRITE' ] ] ],
          'grants listed; WRITE implies READ');

for my $c (
    [ 'no scopes', { user_id => $dave->{user}{id} }, 'scopes' ],
    [ 'bad scope', { user_id => $dave->{user}{id}, scopes => ['ADMIN'] },
      'scopes' ],
    [ 'both', { user_id => 1, email => 'a@b.c', scopes => ['READ'] }, undef ],
) {
    $res = api(POST => "/api/v1/projects/$pid/members", $alice, $c->[1]);
    is($res->{status}, 422, "grant $c->[0]: 422");
}
error_is(api(POST => "/api/v1/projects/$pid/members", $alice,
             { email => "nobody-$$\@example.com", scopes => ['READ'] }),
         404, 'not_found', 'grant to an unknown email');

my $depid = $s->psql("INSERT INTO deployments (project_id, branch)"
                     . " VALUES ($pid, 'main') RETURNING id");
$depid =~ s/\D.*//s;

# [method, path, body, need]: need READ, WRITE, DELETE or OWNER
my @matrix = (
    [ GET    => "/api/v1/projects/$pid", undef, 'READ' ],
    [ GET    => "/api/v1/projects/$pid/env", undef, 'READ' ],
    [ GET    => "/api/v1/projects/$pid/access", undef, 'READ' ],
    [ PATCH  => "/api/v1/projects/$pid", { build_cmd => 'make all' },
      'WRITE' ],
    [ PUT    => "/api/v1/projects/$pid/env/FOO", { value => 'bar' },
      'WRITE' ],
    [ DELETE => "/api/v1/projects/$pid/env/NOPE", undef, 'WRITE', 404 ],
    [ POST   => "/api/v1/projects/$pid/webhook-secret", undef, 'DELETE' ],
    [ POST   => "/api/v1/projects/$pid/members",
      { user_id => $erin->{user}{id}, scopes => ['READ'] }, 'DELETE' ],
    [ DELETE => "/api/v1/projects/$pid/members/" . $erin->{user}{id}, undef,
      'DELETE', 204 ],
    [ POST   => "/api/v1/projects/$pid/teams",
      { team_id => 999999, scopes => ['READ'] }, 'DELETE', 404 ],
    [ DELETE => "/api/v1/projects/$pid/teams/999999", undef, 'DELETE',
      404 ],
    [ POST   => "/api/v1/projects/$pid/transfer", { user_id => 999999 },
      'OWNER', 404 ],
);
my %rank = (READ => 1, WRITE => 2, DELETE => 3, OWNER => 4);
my %has = (stranger => 0, reader => 1, writer => 2, owner => 4);
my %who = (stranger => $stranger, reader => $reader, writer => $writer,
           owner => $alice);

for my $m (@matrix) {
    my ($method, $path, $body, $need, $ok) = @$m;
    for my $w (qw(stranger reader writer owner)) {
        $res = api($method => $path, $who{$w}, $body);
        my $want = $has{$w} == 0 ? 404
                 : $has{$w} < $rank{$need} ? 403
                 : ($ok // ($method eq 'PUT' ? qr/^20[01]$/ : qr/^20\d$/));
        if (ref $want) {
            like($res->{status}, $want, "$w $method $path: 2xx")
                or diag($res->{content});
        } else {
            is($res->{status}, $want, "$w $method $path: $want")
                or diag($res->{content});
        }
    }
}

for my $bad ('0', '-1', 'abc', '99999999999', "1%27%20OR%201=1",
             '9' x 30) {
    error_is(api(GET => "/api/v1/projects/$bad", $alice), 404, 'not_found',
             "project id '$bad'");
}

# a READ-only personal token cannot write, even for the owner
$res = api(POST => '/api/v1/tokens', $alice,
           { name => 'ro', scopes => ['READ'] });
my $ro = $res->{json}{token};
error_is(api(PATCH => "/api/v1/projects/$pid", $ro, { branch => 'x' }), 403,
         'insufficient_scope', 'READ token: PATCH');
is(api(GET => "/api/v1/projects/$pid", $ro)->{status}, 200,
   'READ token: GET');

# DELETE right from a grant
$res = api(POST => "/api/v1/projects/$pid/members", $alice,
           { user_id => $erin->{user}{id}, scopes => ['DELETE'] });
is(api(GET => "/api/v1/projects/$pid/access", $erin)->{status}, 200,
   'DELETE grant: can read');
is(api(DELETE => "/api/v1/projects/$pid/members/" . $bob->{user}{id}, $erin)
   ->{status}, 204, 'DELETE grant: can revoke others');
error_is(api(GET => "/api/v1/projects/$pid", $bob), 404, 'not_found',
         'revoked: 404 again');
error_is(api(DELETE => "/api/v1/projects/$pid/members/" . $bob->{user}{id},
             $alice), 404, 'not_found', 'revoke twice: 404');
error_is(api(POST => "/api/v1/projects/$pid/transfer", $erin,
             { user_id => $erin->{user}{id} }), 403, 'forbidden',
         'a DELETE grant is not the owner: no transfer');

# ---- teams: linked and owning

my $team = api(POST => '/api/v1/teams', $alice, { name => 'Web' })->{json};
my $tid = $team->{id};
$s->psql("INSERT INTO team_members (team_id, user_id, role) VALUES"
         . " ($tid, $dave->{user}{id}, 'member')");
my $bobteam = api(POST => '/api/v1/teams', $bob, { name => 'Bobs' })->{json};

error_is(api(POST => "/api/v1/projects/$pid/teams", $alice,
             { team_id => $bobteam->{id}, scopes => ['WRITE'] }), 404,
         'not_found', 'link a team the caller is not in');
$res = api(POST => "/api/v1/projects/$pid/teams", $alice,
           { team_id => $tid, scopes => ['READ'] });
is($res->{status}, 200, 'link a team: 200') or diag($res->{content});
is(api(GET => "/api/v1/projects/$pid", $dave)->{status}, 200,
   'a member of a linked READ team reads');
error_is(api(PATCH => "/api/v1/projects/$pid", $dave, { branch => 'x' }),
         403, 'forbidden', 'a linked READ team cannot write');
is(api(DELETE => "/api/v1/projects/$pid/teams/$tid", $alice)->{status}, 204,
   'unlink the team');
error_is(api(GET => "/api/v1/projects/$pid", $dave), 404, 'not_found',
         'unlinked: 404');

$res = api(POST => '/api/v1/projects', $dave,
           { name => 'teamproj', repo_url => $repo,
             team_id => $bobteam->{id} });
error_is($res, 404, 'not_found', 'create for a team one is not in');
$res = api(POST => '/api/v1/projects', $dave,
           { name => 'teamproj', repo_url => $repo, team_id => $tid });
is($res->{status}, 201, 'a team member creates a team project')
    or diag($res->{content});
is_deeply($res->{json}{owner}, { type => 'team', id => $tid },
          'owned by the team');
my $tp = $res->{json}{id};
is(api(PATCH => "/api/v1/projects/$tp", $dave, { branch => 'x' })->{status},
   200, 'team member: WRITE on the team project');
error_is(api(DELETE => "/api/v1/projects/$tp", $dave), 403, 'forbidden',
         'team member: no DELETE');
is(api(POST => "/api/v1/projects/$tp/webhook-secret", $alice)->{status}, 200,
   'team owner: DELETE right');
error_is(api(GET => "/api/v1/projects/$tp", $bob), 404, 'not_found',
         'outsider: 404 on the team project');

# ---- transfer: an offer the receiver accepts; nothing changes before

# offers reach verified addresses only (the mail issue will verify them;
# here the database does)
$s->psql("UPDATE users SET email_verified = true");

sub owner_of { api(GET => "/api/v1/projects/$_[0]", $_[1])->{json}{owner} }
sub inbox {
    [ map { $_->{id} } @{ api(GET => '/api/v1/invitations', $_[0])
                          ->{json}{data} // [] } ]
}
sub offer {
    my ($who, $to) = @_;
    my $r = api(POST => "/api/v1/projects/$full/transfer", $who, $to);
    is($r->{status}, 201, 'offer the project: 201') or diag($r->{content});
    return $r->{json};
}

$res = api(POST => "/api/v1/projects/$full/transfer", $alice,
           { team_id => $bobteam->{id} });
error_is($res, 404, 'not_found', 'transfer to a team one is not in');
error_is(api(POST => "/api/v1/projects/$full/transfer", $alice,
             { user_id => $alice->{user}{id} }), 404, 'not_found',
         'transfer to the owner it has');

my $o = offer($alice, { user_id => $bob->{user}{id} });
is($o->{kind}, 'project', 'the offer is an invitation of kind project');
is_deeply([ $o->{project}{id}, $o->{to}, $o->{role}, $o->{state},
            $o->{invited_by} ],
          [ $full, { type => 'user', email => $bob->{user}{email} }, 'owner',
            'pending', $alice->{user}{id} ], '  to bob, pending, from alice');
is_deeply(owner_of($full, $alice), { type => 'user', id => $alice->{user}{id} },
          'until bob accepts, alice owns it');
error_is(api(GET => "/api/v1/projects/$full", $bob), 404, 'not_found',
         '  and bob does not even see it');
is(api(GET => "/api/v1/projects/$full/transfer", $alice)->{json}{id},
   $o->{id}, 'the owner sees the pending offer');
error_is(api(GET => "/api/v1/projects/$full/transfer", $carol), 404,
         'not_found', '  someone else does not');
is_deeply(inbox($bob), [ $o->{id} ], "it is in bob's inbox");
is_deeply(inbox($carol), [], "not in carol's");
error_is(api(POST => "/api/v1/invitations/$o->{id}/accept", $carol), 404,
         'not_found', 'someone else accepts: 404');

my $o2 = offer($alice, { user_id => $carol->{user}{id} });
error_is(api(POST => "/api/v1/invitations/$o->{id}/accept", $bob), 409,
         'invitation_answered', 'a new offer revokes the pending one');
is(api(DELETE => "/api/v1/projects/$full/transfer", $alice)->{status}, 204,
   'the owner cancels the offer');
error_is(api(POST => "/api/v1/invitations/$o2->{id}/accept", $carol), 409,
         'invitation_answered', '  which can no longer be accepted');
error_is(api(DELETE => "/api/v1/projects/$full/transfer", $alice), 404,
         'not_found', 'cancel with nothing pending');

$o = offer($alice, { user_id => $bob->{user}{id} });
is(api(POST => "/api/v1/invitations/$o->{id}/decline", $bob)->{json}{state},
   'declined', 'bob declines');
is(owner_of($full, $alice)->{id}, $alice->{user}{id}, '  alice keeps it');

$o = offer($alice, { user_id => $bob->{user}{id} });
$s->psql("UPDATE team_invitations SET expires_at = now() - interval '1 s'"
         . " WHERE id = $o->{id}");
error_is(api(POST => "/api/v1/invitations/$o->{id}/accept", $bob), 410,
         'invitation_expired', 'an expired offer');

my $frank = $s->signup(email => "frank-$$\@example.com");
$o = offer($alice, { user_id => $frank->{user}{id} });
is_deeply(inbox($frank), [], 'an unverified account sees no offer');
error_is(api(POST => "/api/v1/invitations/$o->{id}/accept", $frank), 404,
         'not_found', '  and cannot accept one');

$o = offer($alice, { user_id => $bob->{user}{id} });
$res = api(POST => "/api/v1/invitations/$o->{id}/accept", $bob);
is($res->{status}, 200, 'bob accepts') or diag($res->{content});
is($res->{json}{state}, 'accepted', '  accepted');
is_deeply(owner_of($full, $bob), { type => 'user', id => $bob->{user}{id} },
          'transfer: the new owner');
error_is(api(GET => "/api/v1/projects/$full", $alice), 404, 'not_found',
         'transfer: the old owner keeps nothing');

$o = offer($bob, { team_id => $bobteam->{id} });
is_deeply($o->{to}, { type => 'team', id => $bobteam->{id},
                      name => $bobteam->{name} }, 'an offer to a team');
is_deeply(owner_of($full, $bob), { type => 'user', id => $bob->{user}{id} },
          '  changes nothing yet');
$s->psql("UPDATE projects SET owner_user_id = $erin->{user}{id}"
         . " WHERE id = $full");
error_is(api(POST => "/api/v1/invitations/$o->{id}/accept", $bob), 409,
         'invitation_stale', 'an offer of someone who no longer owns it');
$s->psql("UPDATE projects SET owner_user_id = $bob->{user}{id}"
         . " WHERE id = $full");
$o = offer($bob, { team_id => $bobteam->{id} });
is(api(POST => "/api/v1/invitations/$o->{id}/accept", $bob)->{status}, 200,
   "the team's owner accepts");
is_deeply(owner_of($full, $bob), { type => 'team', id => $bobteam->{id} },
          'transfer to the own team');
error_is(api(POST => "/api/v1/projects/$full/transfer", $bob, {}), 422,
         'validation_failed', 'transfer to nobody');

# ---- delete

my $events_before = redis_xlen();
error_is(api(DELETE => "/api/v1/projects/$pid", $carol), 403, 'forbidden',
         'WRITE member: no DELETE');
is(api(DELETE => "/api/v1/projects/$pid", $alice)->{status}, 204,
   'delete: 204');
error_is(api(GET => "/api/v1/projects/$pid", $alice), 404, 'not_found',
         'deleted: 404');
is($s->psql("SELECT count(*) FROM deployments WHERE id = $depid"), 0,
   'delete: deployments went with it');
is($s->psql("SELECT count(*) FROM project_members WHERE project_id = $pid"),
   0, 'delete: grants went with it');
my $ev = redis('XREVRANGE', 'shipoff:events', '+', '-', 'COUNT', '1');
like($ev, qr/project_deleted.*\b$pid\b.*blog2/s,
     'delete: project_deleted event for the builder');
error_is(api(DELETE => "/api/v1/projects/$pid", $alice), 404, 'not_found',
         'delete twice: 404');

sub redis { $s->redis(@_) }
sub redis_xlen { redis('XLEN', 'shipoff:events') }

# ---- no secret in the logs

my $logs = $s->logs;
for my $x ($secret, $rotated) {
    ok(index($logs, $x) < 0, 'no webhook secret in the logs');
}

# ---- a private network allowed (this stack): the metadata service is not

for my $url ('http://169.254.169.254/latest/meta-data/x.git',
             'http://[fd00:ec2::254]/x.git',
             'http://[::ffff:169.254.169.254]/x.git') {
    my $res = api(POST => '/api/v1/projects', $alice,
                  { name => 'meta', repo_url => $url });
    error_is($res, 422, 'validation_failed', "allow_private_repos: $url",
             'repo_url');
    like($res->{json}{error}{message}, qr/cloud metadata/,
         "allow_private_repos: $url: cloud metadata");
}
error_is(api(POST => '/api/v1/projects', $alice,
             { name => 'lan', repo_url => 'http://10.1.2.3/x.git' }), 201,
         undef, 'allow_private_repos: a private address is accepted');

# ---- production settings: https only, SSRF guard

my $prod = stack_up(env => { SHIPOFF_ALLOW_PRIVATE_REPOS => 0,
                             SHIPOFF_ALLOW_INSECURE_REPOS => 0 });
my $pu = $prod->signup;
my $n = 0;
for my $c (
    [ 'http://93.184.216.34/x.git', 'https' ],
    [ 'file:///srv/git/x.git', 'https' ],
    [ 'https://127.0.0.1/x.git', 'loopback' ],
    [ 'https://localhost/x.git', 'loopback' ],
    [ 'https://10.1.2.3/x.git', 'private' ],
    [ 'https://192.168.0.1/x.git', 'private' ],
    [ 'https://172.16.0.1/x.git', 'private' ],
    [ 'https://169.254.169.254/latest', 'cloud metadata' ],
    [ 'https://169.254.1.1/x.git', 'link-local' ],
    [ 'https://100.64.0.1/x.git', 'CGNAT' ],
    [ 'https://0.0.0.0/x.git', 'unspecified' ],
    [ 'https://224.0.0.1/x.git', 'multicast' ],
    [ 'https://[::1]/x.git', 'loopback' ],
    [ 'https://[::ffff:127.0.0.1]/x.git', 'loopback' ],
    [ 'https://[fd00::1]/x.git', 'private' ],
    [ 'https://[fe80::1]/x.git', 'link-local' ],
    [ 'https://no-such-host.invalid/x.git', 'resolve' ],
) {
    my ($url, $why) = @$c;
    $n++;
    $res = http(POST => $prod->url('/api/v1/projects'),
                { name => "p$n", repo_url => $url }, $prod->auth_header($pu));
    is($res->{status}, 422, "production: $url refused")
        or diag($res->{content});
    is($res->{json}{error}{field}, 'repo_url', "production: $url field");
    like($res->{json}{error}{message}, qr/\Q$why\E/, "production: $url: $why");
}
$res = http(POST => $prod->url('/api/v1/projects'),
            { name => 'pub', repo_url => 'https://93.184.216.34/x.git' },
            $prod->auth_header($pu));
is($res->{status}, 201, 'production: a public https address is accepted')
    or diag($res->{content});

done_testing;
