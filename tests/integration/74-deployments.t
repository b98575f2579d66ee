# Deployments through the API: deploy (the deployment and its outbox row
# commit together, then the job reaches Redis; with Redis down the deploy
# still succeeds and the row waits unsent), list, read with its events,
# cancel, delete, redeploy and promote, each refused with 409 from the
# states the state machine does not allow; 50 concurrent promotes leave
# exactly one PRODUCTION; who may do what (404 for strangers, 403 for a
# READ-only member or a READ-only token); bad input gets a clean 4xx.
#
# The builder is stopped: states it would reach are set through psql, the
# way it will set them.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use ShipoffTest qw(stack_up run error_is);

my $s = stack_up(env => { SHIPOFF_AUTH_RATE => '1000r/s',
                          SHIPOFF_ALLOW_PRIVATE_REPOS => '1' });
$s->stop('shipoffd');

sub psql { $s->psql($_[0]) }

sub redis { $s->redis(@_) }

sub api { $s->api(@_) }

# walks deployment ids through the states to reach $to (as the builder)
my %path = (
    BUILDING     => [qw(BUILDING)],
    PROVISIONING => [qw(BUILDING PROVISIONING)],
    PRODUCTION   => [qw(BUILDING PROVISIONING PRODUCTION)],
    INACTIVE     => [qw(BUILDING PROVISIONING PRODUCTION INACTIVE)],
    FAILED       => [qw(FAILED)],
    CANCELED     => [qw(CANCELED)],
);

sub set_state {
    my ($to, $artifact, @ids) = @_;
    my $sql = '';
    for my $id (@ids) {
        $sql .= "UPDATE deployments SET state = '$_', reason = 'test'"
                . " WHERE id = $id;\n" for @{ $path{$to} };
        $sql .= "UPDATE deployments SET artifact_path = '/srv/$id'"
                . " WHERE id = $id;\n" if $artifact;
    }
    psql($sql);
}

# moves one deployment on from where it is
sub move {
    my ($id, @states) = @_;
    psql(join '', map { "UPDATE deployments SET state = '$_',"
                        . " reason = 'test' WHERE id = $id;\n" } @states);
}

sub state_of { psql("SELECT state FROM deployments WHERE id = $_[0]") }

my $rfc3339 = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
my $sha = 'a' x 40;

my %u;
$u{$_} = $s->signup(email => "$_-$$\@example.com")
    for qw(alice bob carol);
my ($alice, $bob, $carol) = @u{qw(alice bob carol)};

my $res = api(POST => '/api/v1/projects', $alice,
              { name => "blog$$", repo_url => 'https://github.com/octo/blog',
                branch => 'main' });
is($res->{status}, 201, 'a project') or diag($res->{content});
my $pid = $res->{json}{id};

# carol may read the project, nothing more
psql("INSERT INTO project_members (project_id, user_id, scopes)"
     . " VALUES ($pid, $carol->{user}{id}, '{READ}')");

# ---- deploy

$res = api(POST => "/api/v1/projects/$pid/deployments", $alice);
is($res->{status}, 202, 'deploy without a body: 202') or diag($res->{content});
my $d = $res->{json};
my $d1 = $d->{id};
like($d1, qr/^\d+$/, 'deploy: an id');
is($d->{state}, 'QUEUED', 'deploy: QUEUED');
is($d->{project_id}, $pid, 'deploy: the project');
is($d->{branch}, 'main', "deploy: the project's branch");
is($d->{commit}, undef, 'deploy: no commit (the branch head)');
is($d->{trigger}, 'manual', 'deploy: trigger manual');
is($d->{created_by}, $alice->{user}{id}, 'deploy: created by alice');
like($d->{created_at}, $rfc3339, 'deploy: created_at RFC 3339 UTC');
is($d->{finished_at}, undef, 'deploy: not finished');

is(psql("SELECT count(*), bool_and(sent_at IS NOT NULL) FROM build_outbox"
        . " WHERE deployment_id = $d1"), '1|t',
   'deploy: one outbox row, sent');
like(redis('XRANGE', 'shipoff:builds', '-', '+'),
     qr/^deployment\n$d1\nproject\n$pid$/m,
     'deploy: the job is on shipoff:builds');

$res = api(POST => "/api/v1/projects/$pid/deployments", $alice,
           { branch => 'feature/x-1', commit => uc $sha });
is($res->{status}, 202, 'deploy a branch and commit: 202')
    or diag($res->{content});
is($res->{json}{branch}, 'feature/x-1', 'deploy: the branch asked');
is($res->{json}{commit}, $sha, 'deploy: the commit, lower case');
my $d2 = $res->{json}{id};

$res = api(POST => "/api/v1/projects/$pid/deployments", $alice, {});
is($res->{status}, 202, 'deploy with {}: 202');
my $d3 = $res->{json}{id};

for my $c (
    [ 'short commit',   { commit => 'abc' },              'commit' ],
    [ 'long commit',    { commit => 'a' x 41 },           'commit' ],
    [ 'non-hex commit', { commit => 'g' x 40 },           'commit' ],
    [ 'numeric commit', { commit => 12 },                 'commit' ],
    [ 'bad branch',     { branch => 'a..b' },             'branch' ],
    [ 'SQL branch',     { branch => "main'; DROP TABLE deployments; --" },
      'branch' ],
    [ 'empty branch',   { branch => '' },                 'branch' ],
    [ 'long branch',    { branch => 'b' x 256 },          'branch' ],
    [ 'branch lock',    { branch => 'x.lock' },           'branch' ],
) {
    my ($name, $body, $field) = @$c;
    error_is(api(POST => "/api/v1/projects/$pid/deployments", $alice, $body),
             422, 'validation_failed', "deploy, $name", $field);
}
error_is(api(POST => "/api/v1/projects/$pid/deployments", $alice,
             { branch => 'main', color => 'red' }),
         422, 'unknown_field', 'deploy, unknown field', 'color');
error_is(api(POST => "/api/v1/projects/$pid/deployments", $alice, '{"x":'),
         400, 'malformed_json', 'deploy, broken JSON');
error_is(api(POST => "/api/v1/projects/$pid/deployments", $alice, '[]'),
         400, 'malformed_json', 'deploy, an array');
error_is(api(POST => "/api/v1/projects/$pid/deployments", $alice,
             { branch => 'x' x (2 * 1024 * 1024) }),
         413, 'too_large', 'deploy, a 2 MB body');
is(psql('SELECT count(*) FROM deployments'), 3, 'nothing else was created');

# ---- list and read

$res = api(GET => "/api/v1/projects/$pid/deployments?limit=2", $alice);
is($res->{status}, 200, 'list: 200');
is_deeply([ map { $_->{id} } @{ $res->{json}{data} } ], [ $d3, $d2 ],
          'list: newest first, one page of 2');
ok($res->{json}{next_cursor}, 'list: a next cursor');
$res = api(GET => "/api/v1/projects/$pid/deployments?limit=2&cursor="
           . $res->{json}{next_cursor}, $alice);
is_deeply([ map { $_->{id} } @{ $res->{json}{data} } ], [ $d1 ],
          'list: the rest on the next page');
is($res->{json}{next_cursor}, undef, 'list: the last page');
error_is(api(GET => "/api/v1/projects/$pid/deployments?limit=0", $alice),
         422, 'validation_failed', 'list, limit 0', 'limit');
error_is(api(GET => "/api/v1/projects/$pid/deployments?cursor=';--",
             $alice), 422, 'validation_failed', 'list, a bad cursor',
         'cursor');

$res = api(GET => "/api/v1/deployments/$d1", $alice);
is($res->{status}, 200, 'get: 200');
is($res->{json}{state}, 'QUEUED', 'get: the state');
is_deeply([ map { [ $_->{from}, $_->{to}, $_->{reason} ] }
            @{ $res->{json}{events} } ],
          [ [ undef, 'QUEUED', 'manual' ] ], 'get: one event, queued');
like($res->{json}{events}[0]{at}, $rfc3339, 'get: the event time');

# ---- cancel

$res = api(POST => "/api/v1/deployments/$d1/cancel", $alice);
is($res->{status}, 200, 'cancel QUEUED: 200') or diag($res->{content});
is($res->{json}{state}, 'CANCELED', 'cancel: CANCELED');
is($res->{json}{reason}, 'canceled', 'cancel: the reason');
like($res->{json}{finished_at}, $rfc3339, 'cancel: finished_at');
like(redis('XRANGE', 'shipoff:cancel', '-', '+'),
     qr/^deployment\n$d1$/m, 'cancel: the builder is told');
is_deeply([ map { [ $_->{from}, $_->{to}, $_->{reason} ] }
            @{ api(GET => "/api/v1/deployments/$d1", $alice)
               ->{json}{events} } ],
          [ [ undef, 'QUEUED', 'manual' ],
            [ 'QUEUED', 'CANCELED', 'canceled' ] ],
          'cancel: the transition is recorded');

set_state('BUILDING', 0, $d2);
$res = api(POST => "/api/v1/deployments/$d2/cancel", $alice);
is($res->{status}, 200, 'cancel BUILDING: 200');
is(state_of($d2), 'CANCELED', 'cancel BUILDING: CANCELED');

for my $st (qw(CANCELED PROVISIONING PRODUCTION INACTIVE FAILED)) {
    my $id = api(POST => "/api/v1/projects/$pid/deployments", $alice)
        ->{json}{id};
    set_state($st, 0, $id);
    $res = api(POST => "/api/v1/deployments/$id/cancel", $alice);
    error_is($res, 409, 'invalid_state', "cancel $st");
    like($res->{json}{error}{message},
         qr/only QUEUED or BUILDING .* this one is $st/,
         "cancel $st: the rule in the message");
    is(state_of($id), $st, "cancel $st: unchanged");
    move($id, 'INACTIVE') if $st eq 'PRODUCTION';
}

# ---- delete

my %by;
for my $st (qw(QUEUED BUILDING PROVISIONING PRODUCTION)) {
    my $id = api(POST => "/api/v1/projects/$pid/deployments", $alice)
        ->{json}{id};
    set_state($st, 0, $id) unless $st eq 'QUEUED';
    $by{$st} = $id;
    $res = api(DELETE => "/api/v1/deployments/$id", $alice);
    error_is($res, 409, 'invalid_state', "delete $st");
    like($res->{json}{error}{message},
         qr/only FAILED, INACTIVE or CANCELED .* deleted; this one is $st/,
         "delete $st: the rule in the message");
    is(state_of($id), $st, "delete $st: still there");
}
like(api(DELETE => "/api/v1/deployments/$by{PRODUCTION}", $alice)
     ->{json}{error}{message}, qr/PRODUCTION deployment stays/,
     'delete PRODUCTION: never');

for my $st (qw(FAILED INACTIVE CANCELED)) {
    my $id = api(POST => "/api/v1/projects/$pid/deployments", $alice)
        ->{json}{id};
    if ($st eq 'INACTIVE') {
        # one PRODUCTION at a time: make room, then put it back
        move($by{PRODUCTION}, 'INACTIVE');
        set_state('INACTIVE', 0, $id);
        move($by{PRODUCTION}, 'PRODUCTION');
    } else {
        set_state($st, 0, $id);
    }
    is(api(DELETE => "/api/v1/deployments/$id", $alice)->{status}, 204,
       "delete $st: 204");
    error_is(api(GET => "/api/v1/deployments/$id", $alice), 404,
             'not_found', "delete $st: gone");
    is(psql("SELECT count(*) FROM build_outbox WHERE deployment_id = $id"),
       0, "delete $st: its outbox row too");
}

# ---- redeploy

$res = api(POST => "/api/v1/deployments/$by{QUEUED}/redeploy", $alice);
error_is($res, 409, 'invalid_state', 'redeploy QUEUED');
like($res->{json}{error}{message}, qr/redeployed; this one is QUEUED/,
     'redeploy QUEUED: the rule');
error_is(api(POST => "/api/v1/deployments/$by{PRODUCTION}/redeploy",
             $alice), 409, 'invalid_state', 'redeploy PRODUCTION');

my $f = api(POST => "/api/v1/projects/$pid/deployments", $alice,
            { branch => 'release', commit => $sha })->{json}{id};
set_state('FAILED', 0, $f);
$res = api(POST => "/api/v1/deployments/$f/redeploy", $alice);
is($res->{status}, 202, 'redeploy FAILED: 202') or diag($res->{content});
isnt($res->{json}{id}, $f, 'redeploy: a new deployment');
is($res->{json}{state}, 'QUEUED', 'redeploy: QUEUED');
is($res->{json}{commit}, $sha, 'redeploy: the same commit');
is($res->{json}{branch}, 'release', 'redeploy: the same branch');
is($res->{json}{trigger}, 'redeploy', 'redeploy: trigger redeploy');
is($res->{json}{reason}, "redeploy of $f", 'redeploy: the reason');
is(state_of($f), 'FAILED', 'redeploy: the old one stays FAILED');
is(psql("SELECT count(*) FROM build_outbox WHERE deployment_id"
        . " = $res->{json}{id} AND sent_at IS NOT NULL"), 1,
   'redeploy: through the outbox');

# ---- promote

my $prod = $by{PRODUCTION};
my $old = api(POST => "/api/v1/projects/$pid/deployments", $alice)
    ->{json}{id};
my $bare = api(POST => "/api/v1/projects/$pid/deployments", $alice)
    ->{json}{id};
move($prod, 'INACTIVE');
set_state('INACTIVE', 1, $old);
set_state('INACTIVE', 0, $bare);
move($prod, 'PRODUCTION');

$res = api(POST => "/api/v1/deployments/$old/promote", $alice);
is($res->{status}, 200, 'promote INACTIVE with artifact: 200')
    or diag($res->{content});
is($res->{json}{state}, 'PRODUCTION', 'promote: PRODUCTION');
is($res->{json}{reason}, 'promoted', 'promote: the reason');
is(state_of($prod), 'INACTIVE', 'promote: the old PRODUCTION is INACTIVE');
is(psql("SELECT reason FROM deployment_events WHERE deployment_id = $prod"
        . " ORDER BY id DESC LIMIT 1"), 'superseded by promote',
   'promote: the demotion is recorded');
like(redis('XRANGE', 'shipoff:events', '-', '+'),
     qr/^type\npromoted\ndeployment\n$old\nproject\n$pid\nprevious\n$prod$/m,
     'promote: the builder is told to switch routes');

$res = api(POST => "/api/v1/deployments/$bare/promote", $alice);
error_is($res, 409, 'invalid_state', 'promote without artifact');
like($res->{json}{error}{message}, qr/artifact .* no longer kept/,
     'promote without artifact: why');
for my $st (qw(QUEUED BUILDING)) {
    $res = api(POST => "/api/v1/deployments/$by{$st}/promote", $alice);
    error_is($res, 409, 'invalid_state', "promote $st");
    like($res->{json}{error}{message}, qr/only an INACTIVE .* is $st/,
         "promote $st: the rule");
}
error_is(api(POST => "/api/v1/deployments/$old/promote", $alice), 409,
         'invalid_state', 'promote PRODUCTION');
error_is(api(POST => "/api/v1/deployments/$f/promote", $alice), 409,
         'invalid_state', 'promote FAILED');
is(psql("SELECT count(*) FROM deployments WHERE project_id = $pid"
        . " AND state = 'PRODUCTION'"), 1, 'one PRODUCTION');

# ---- 50 concurrent promotes of different INACTIVE deployments

my @many = split /\n/, psql("INSERT INTO deployments (project_id, branch)"
    . " SELECT $pid, 'main' FROM generate_series(1, 50) RETURNING id");
is(scalar @many, 50, '50 deployments');
move($old, 'INACTIVE');
set_state('INACTIVE', 1, @many);
move($old, 'PRODUCTION');

# promote_all(@ids): one child per id, all at once; the statuses
sub promote_all {
    my @kids;
    for my $id (@_) {
        pipe(my $r, my $w) or die "pipe: $!";
        my $kid = fork // die "fork: $!";
        if (!$kid) {
            close $r;
            my $x = api(POST => "/api/v1/deployments/$id/promote", $alice);
            print $w $x->{status};
            close $w;
            require POSIX;
            POSIX::_exit(0);
        }
        close $w;
        push @kids, [ $kid, $r ];
    }
    my %status;
    for my $k (@kids) {
        my $fh = $k->[1];
        my $st = <$fh> // 'none';
        waitpid $k->[0], 0;
        $status{$st}++;
    }
    return %status;
}

# with a PRODUCTION to replace, then with none (nothing to demote: only
# the project lock keeps two promotes from both finding the place free)
for my $round ('with a PRODUCTION', 'from no PRODUCTION') {
    my $promoted = psql("SELECT count(*) FROM deployment_events e"
                        . " JOIN deployments d ON d.id = e.deployment_id"
                        . " WHERE d.project_id = $pid"
                        . " AND e.reason = 'promoted'");
    my %status = promote_all(@many);
    is_deeply([ grep { $_ ne '200' && $_ ne '409' } keys %status ], [],
              "promotes $round: every answer 200 or 409")
        or diag explain \%status;
    is($status{200}, scalar @many,
       "promotes $round: all succeed, one after the other");
    is(psql("SELECT count(*) FROM deployments WHERE project_id = $pid"
            . " AND state = 'PRODUCTION'"), 1,
       "promotes $round: exactly one PRODUCTION");
    is(psql("SELECT count(*) FROM deployment_events e JOIN deployments d"
            . " ON d.id = e.deployment_id WHERE d.project_id = $pid"
            . " AND e.reason = 'promoted'"), $promoted + ($status{200} // 0),
       "promotes $round: one event per successful promote");

    my $now = psql("SELECT id FROM deployments WHERE project_id = $pid"
                   . " AND state = 'PRODUCTION'");
    move($now, 'INACTIVE');
    push @many, $old if $round eq 'with a PRODUCTION';
}

# ---- Redis down: the deploy still succeeds, the outbox keeps the job

$s->stop('redis');
$res = api(POST => "/api/v1/projects/$pid/deployments", $alice);
is($res->{status}, 202, 'Redis down: deploy still 202')
    or diag($res->{content});
my $unsent = $res->{json}{id};
is(psql("SELECT count(*), bool_and(sent_at IS NULL) FROM build_outbox"
        . " WHERE deployment_id = $unsent"), '1|t',
   'Redis down: the outbox row is there, unsent');
$res = api(POST => "/api/v1/deployments/$unsent/cancel", $alice);
is($res->{status}, 200, 'Redis down: cancel still 200');
$s->start('redis');
$res = api(POST => "/api/v1/projects/$pid/deployments", $alice);
is($res->{status}, 202, 'Redis back: deploy 202');
is(psql("SELECT sent_at IS NOT NULL FROM build_outbox"
        . " WHERE deployment_id = $res->{json}{id}"), 't',
   'Redis back: sent');
like(redis('XRANGE', 'shipoff:builds', '-', '+'),
     qr/^deployment\n$res->{json}{id}\n/m, 'Redis back: on the stream');

# ---- who may do what

my $any = $by{QUEUED};
my @object = (
    [ POST   => "/api/v1/projects/$pid/deployments",  'WRITE' ],
    [ GET    => "/api/v1/projects/$pid/deployments",  'READ' ],
    [ GET    => "/api/v1/deployments/$any",           'READ' ],
    [ DELETE => "/api/v1/deployments/$any",           'DELETE' ],
    [ POST   => "/api/v1/deployments/$any/redeploy",  'WRITE' ],
    [ POST   => "/api/v1/deployments/$any/cancel",    'WRITE' ],
    [ POST   => "/api/v1/deployments/$any/promote",   'WRITE' ],
);
my $before = psql('SELECT count(*), max(updated_at) FROM deployments');

for my $e (@object) {
    my ($m, $path, $need) = @$e;
    error_is(api($m => $path), 401, 'unauthorized', "$m $path, anonymous");
    error_is(api($m => $path, $bob), 404, 'not_found',
             "$m $path, a stranger");
    if ($need eq 'READ') {
        is(api($m => $path, $carol)->{status}, 200,
           "$m $path, a READ member: 200");
    } else {
        error_is(api($m => $path, $carol), 403, 'forbidden',
                 "$m $path, a READ member");
    }
}

$res = api(POST => '/api/v1/tokens', $alice,
           { name => 'ci', scopes => ['READ'] });
is($res->{status}, 201, 'a READ token') or diag($res->{content});
my $tok = $res->{json}{token};
for my $e (@object) {
    my ($m, $path, $need) = @$e;
    if ($need eq 'READ') {
        is(api($m => $path, $tok)->{status}, 200, "$m $path, READ token");
    } else {
        error_is(api($m => $path, $tok), 403, 'insufficient_scope',
                 "$m $path, READ token");
    }
}
is(psql('SELECT count(*), max(updated_at) FROM deployments'), $before,
   'nothing was changed by those who may not');

for my $bad ('abc', '0', '-1', '99999999999999999999', '1%20OR%201=1',
             "1'--", 'x' x 300) {
    my $short = length $bad > 20 ? 'a long id' : $bad;
    error_is(api(GET => "/api/v1/deployments/$bad", $alice), 404,
             'not_found', "get id $short");
    error_is(api(POST => "/api/v1/deployments/$bad/promote", $alice), 404,
             'not_found', "promote id $short");
    error_is(api(POST => "/api/v1/projects/$bad/deployments", $alice), 404,
             'not_found', "deploy to project $short");
}

$res = api(GET => '/api/v1/deployments/' . ('9' x 20000), $alice);
ok($res->{status} >= 400 && $res->{status} < 500 && $res->{json}{error},
   "a 20000-digit id: a clean 4xx ($res->{status})");

unlike($s->logs, qr/\] error:/, 'no error in the logs');

done_testing();
