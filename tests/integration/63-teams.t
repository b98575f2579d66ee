# Teams and invitations: who sees and changes which team (404 for what one
# may not see, 403 for what one sees but may not change), invitations by
# email (accept, decline, expire; only to verified addresses: an account
# that merely claims one sees nothing), members leaving and being removed,
# ownership moving in one transaction, lists in pages, and the scopes of a
# personal token.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use JSON::PP ();
use ShipoffTest qw(stack_up http run);

my $s = stack_up(env => { SHIPOFF_AUTH_RATE => '1000r/s' });

my @psql = ('psql', '-X', '-q', '-tA', '-h', $s->var . '/run/pg',
            '-p', $s->port('pg'), '-U', 'postgres', '-d', 'shipoff');

sub psql {
    my ($sql) = @_;
    my ($rc, $out) = run(@psql, '-c', $sql);
    die "psql: $out" if $rc;
    chomp $out;
    return $out;
}

# api(METHOD, PATH, WHO, BODY): WHO is a signup answer or a token string
sub api {
    my ($method, $path, $who, $body) = @_;
    return http($method => $s->url($path), $body,
                $who ? $s->auth_header($who) : {});
}

sub error_is {
    my ($res, $status, $code, $name, $field) = @_;
    is($res->{status}, $status, "$name: $status")
        or diag($res->{content});
    is($res->{json}{error}{code}, $code, "$name: $code");
    is($res->{json}{error}{field}, $field, "$name: field $field")
        if defined $field;
}

my $rfc3339 = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

my %u;
for my $who (qw(alice bob carol dave)) {
    $u{$who} = $s->signup(email => "$who-$$\@example.com");
    ok($u{$who}{user}{id}, "$who signed up");
}
my ($alice, $bob, $carol, $dave) = @u{qw(alice bob carol dave)};

# invitations go to verified addresses only: the mail issue will verify
# them; until then a sign-up is not, and the database does it here
psql("UPDATE users SET email_verified = true");

# ---- create, read, list, rename

error_is(api(GET => '/api/v1/teams'), 401, 'unauthorized',
         'no credential');

my $res = api(POST => '/api/v1/teams', $alice, { name => '  Blog  ' });
is($res->{status}, 201, 'create: 201') or diag($res->{content});
my $team = $res->{json};
my $tid = $team->{id};
like($tid, qr/^\d+$/, 'create: an id');
is($team->{name}, 'Blog', 'create: the name, trimmed');
is($team->{role}, 'owner', 'create: the creator is the owner');
like($team->{created_at}, $rfc3339, 'create: created_at RFC 3339 UTC');
is_deeply([ map { [ $_->{user_id}, $_->{role} ] } @{ $team->{members} } ],
          [ [ $alice->{user}{id}, 'owner' ] ], 'create: one member, owner');

for my $c (
    [ 'no name',       {},                           'validation_failed',
      'name' ],
    [ 'empty name',    { name => '' },               'validation_failed',
      'name' ],
    [ 'blank name',    { name => '   ' },            'validation_failed',
      'name' ],
    [ 'long name',     { name => 'x' x 101 },        'validation_failed',
      'name' ],
    [ 'numeric name',  { name => 5 },                'validation_failed',
      'name' ],
    [ 'control char',  { name => "a\nb" },           'validation_failed',
      'name' ],
    [ 'unknown field', { name => 'x', color => 1 },  'unknown_field',
      'color' ],
) {
    my ($name, $body, $code, $field) = @$c;
    error_is(api(POST => '/api/v1/teams', $alice, $body), 422, $code,
             "create, $name", $field);
    error_is(api(PATCH => "/api/v1/teams/$tid", $alice, $body), 422, $code,
             "patch, $name", $field);
}
$res = api(POST => '/api/v1/teams', $alice,
           JSON::PP->new->utf8->encode({ name => "\x{e9}" x 100 }));
is($res->{status}, 201, 'create: 100 characters fit, not bytes');
is(api(DELETE => "/api/v1/teams/$res->{json}{id}", $alice)->{status}, 204,
   'delete it again');

$res = api(GET => '/api/v1/teams', $alice);
is($res->{status}, 200, 'list: 200');
is_deeply([ map { [ $_->{id}, $_->{role} ] } @{ $res->{json}{data} } ],
          [ [ $tid, 'owner' ] ], 'list: the team, with the role');
is($res->{json}{next_cursor}, undef, 'list: one page');

$res = api(PATCH => "/api/v1/teams/$tid", $alice, { name => 'Blog 2' });
is($res->{status}, 200, 'patch: 200');
is($res->{json}{name}, 'Blog 2', 'patch: renamed');
is(api(GET => "/api/v1/teams/$tid", $alice)->{json}{name}, 'Blog 2',
   'get: the new name');

# ---- invitations

my $bob_email = "bob-$$\@example.com";
$res = api(POST => "/api/v1/teams/$tid/invitations", $alice,
           { email => "  \U$bob_email\E ", role => 'member' });
is($res->{status}, 201, 'invite bob: 201') or diag($res->{content});
my $inv = $res->{json};
is($inv->{email}, $bob_email, 'invite: the email normalised');
is($inv->{state}, 'pending', 'invite: pending');
is($inv->{team}{id}, $tid, 'invite: the team');
like($inv->{expires_at}, $rfc3339, 'invite: expires_at');
is(psql("SELECT expires_at - created_at = interval '7 days'"
        . " FROM team_invitations WHERE id = $inv->{id}"), 't',
   'invite: expires in 7 days');

for my $c (
    [ 'pending already', { email => $bob_email }, 409, 'invitation_exists' ],
    [ 'a member', { email => "alice-$$\@example.com" }, 409,
      'already_member' ],
    [ 'bad role', { email => 'x@example.com', role => 'admin' }, 422,
      'validation_failed', 'role' ],
    [ 'bad email', { email => 'nobody' }, 422, 'validation_failed',
      'email' ],
    [ 'no email', { role => 'member' }, 422, 'validation_failed', 'email' ],
    [ 'unknown field', { email => 'x@example.com', note => 'hi' }, 422,
      'unknown_field', 'note' ],
) {
    my ($name, $body, $status, $code, $field) = @$c;
    error_is(api(POST => "/api/v1/teams/$tid/invitations", $alice, $body),
             $status, $code, "invite, $name", $field);
}

$res = api(GET => '/api/v1/invitations', $bob);
is($res->{status}, 200, 'bob lists invitations: 200');
is_deeply([ map { $_->{id} } @{ $res->{json}{data} } ], [ $inv->{id} ],
          "bob sees the invitation");
is_deeply(api(GET => '/api/v1/invitations', $dave)->{json}{data}, [],
          'dave sees none');

error_is(api(POST => "/api/v1/invitations/$inv->{id}/accept", $dave),
         404, 'not_found', 'another user accepts');
error_is(api(POST => "/api/v1/invitations/$inv->{id}/decline", $dave),
         404, 'not_found', 'another user declines');
error_is(api(GET => "/api/v1/teams/$tid", $bob), 404, 'not_found',
         'bob cannot see the team before accepting');

$res = api(POST => "/api/v1/invitations/$inv->{id}/accept", $bob);
is($res->{status}, 200, 'bob accepts: 200') or diag($res->{content});
is($res->{json}{state}, 'accepted', 'accept: accepted');
error_is(api(POST => "/api/v1/invitations/$inv->{id}/accept", $bob),
         409, 'invitation_answered', 'accept twice');
error_is(api(POST => "/api/v1/invitations/$inv->{id}/decline", $bob),
         409, 'invitation_answered', 'decline after accepting');

$res = api(GET => "/api/v1/teams/$tid", $bob);
is($res->{status}, 200, 'bob sees the team');
is($res->{json}{role}, 'member', 'bob is a member');
is_deeply([ map { $_->{role} } @{ $res->{json}{members} } ],
          [ 'owner', 'member' ], 'members: owner first');

# a member sees, but does not change: 403
for my $c (
    [ PATCH  => "/api/v1/teams/$tid", { name => 'mine' } ],
    [ DELETE => "/api/v1/teams/$tid" ],
    [ POST   => "/api/v1/teams/$tid/invitations",
      { email => 'x@example.com' } ],
    [ POST   => "/api/v1/teams/$tid/transfer",
      { user_id => $bob->{user}{id} } ],
    [ DELETE => "/api/v1/teams/$tid/members/$alice->{user}{id}" ],
) {
    my ($method, $path, $body) = @$c;
    error_is(api($method, $path, $bob, $body), 403, 'forbidden',
             "member: $method $path");
}

# an outsider does not even see it: 404, exactly like a team that is not
for my $c (
    [ GET    => "/api/v1/teams/$tid" ],
    [ PATCH  => "/api/v1/teams/$tid", { name => 'mine' } ],
    [ DELETE => "/api/v1/teams/$tid" ],
    [ POST   => "/api/v1/teams/$tid/invitations",
      { email => "dave-$$\@example.com" } ],
    [ POST   => "/api/v1/teams/$tid/transfer",
      { user_id => $dave->{user}{id} } ],
    [ DELETE => "/api/v1/teams/$tid/members/$bob->{user}{id}" ],
    [ DELETE => "/api/v1/teams/$tid/members/$dave->{user}{id}" ],
) {
    my ($method, $path, $body) = @$c;
    error_is(api($method, $path, $dave, $body), 404, 'not_found',
             "outsider: $method $path");
}
is(api(GET => "/api/v1/teams/$tid", $alice)->{json}{name}, 'Blog 2',
   'the outsider changed nothing');

# ids that name nothing are 404, never 500
for my $bad ('abc', '-1', '0', '99999999999999999999', '1.5', '%20') {
    for my $c (
        [ GET    => "/api/v1/teams/$bad" ],
        [ PATCH  => "/api/v1/teams/$bad", { name => 'x' } ],
        [ DELETE => "/api/v1/teams/$bad" ],
        [ POST   => "/api/v1/teams/$bad/transfer", { user_id => 1 } ],
        [ DELETE => "/api/v1/teams/$tid/members/$bad" ],
        [ POST   => "/api/v1/invitations/$bad/accept" ],
    ) {
        my ($method, $path, $body) = @$c;
        error_is(api($method, $path, $alice, $body), 404, 'not_found',
                 "bad id: $method $path");
    }
}

# ---- an unverified account does not get invitations for its address

{
    my $addr = "victim-$$\@example.com";
    my $r = api(POST => "/api/v1/teams/$tid/invitations", $alice,
                { email => $addr });
    is($r->{status}, 201, 'invite an address nobody verified: 201')
        or diag($r->{content});
    my $squat = $s->signup(email => $addr);
    is_deeply(api(GET => '/api/v1/invitations', $squat)->{json}{data}, [],
              'an account that only claims the address sees nothing');
    error_is(api(POST => "/api/v1/invitations/$r->{json}{id}/accept",
                 $squat), 404, 'not_found', 'and cannot accept it');
    error_is(api(GET => "/api/v1/teams/$tid", $squat), 404, 'not_found',
             '  nor see the team');
    psql("UPDATE users SET email_verified = true"
         . " WHERE id = $squat->{user}{id}");
    is_deeply([ map { $_->{id} }
                @{ api(GET => '/api/v1/invitations', $squat)->{json}{data} } ],
              [ $r->{json}{id} ], 'once the address is verified, it is there');
    is(api(POST => "/api/v1/invitations/$r->{json}{id}/decline",
           $squat)->{status}, 200, '  and answered');
}

# ---- decline and expiry

my $carol_email = "carol-$$\@example.com";
my $invite_carol = sub {
    my ($role) = @_;
    my $r = api(POST => "/api/v1/teams/$tid/invitations", $alice,
                { email => $carol_email, role => $role });
    is($r->{status}, 201, "invite carol as $role: 201")
        or diag($r->{content});
    return $r->{json}{id};
};

my $iid = $invite_carol->('member');
$res = api(POST => "/api/v1/invitations/$iid/decline", $carol);
is($res->{status}, 200, 'carol declines: 200');
is($res->{json}{state}, 'declined', 'decline: declined');
error_is(api(POST => "/api/v1/invitations/$iid/accept", $carol),
         409, 'invitation_answered', 'accept after declining');
is_deeply(api(GET => '/api/v1/invitations', $carol)->{json}{data}, [],
          'a declined invitation is not listed');
error_is(api(GET => "/api/v1/teams/$tid", $carol), 404, 'not_found',
         'declining joins nothing');

$iid = $invite_carol->('member');
psql("UPDATE team_invitations SET expires_at = now() - interval '1 second'"
     . " WHERE id = $iid");
is_deeply(api(GET => '/api/v1/invitations', $carol)->{json}{data}, [],
          'an expired invitation is not listed');
error_is(api(POST => "/api/v1/invitations/$iid/accept", $carol),
         410, 'invitation_expired', 'accept expired');
error_is(api(POST => "/api/v1/invitations/$iid/decline", $carol),
         410, 'invitation_expired', 'decline expired');
error_is(api(GET => "/api/v1/teams/$tid", $carol), 404, 'not_found',
         'an expired invitation joins nothing');

# the expired one does not block a new invitation
$iid = $invite_carol->('member');
is(api(POST => "/api/v1/invitations/$iid/accept", $carol)->{status}, 200,
   'carol accepts a fresh invitation');

# ---- members leave and are removed

my ($aid, $bid, $cid, $did) = map { $_->{user}{id} }
                              ($alice, $bob, $carol, $dave);

error_is(api(DELETE => "/api/v1/teams/$tid/members/$cid", $bob),
         403, 'forbidden', 'a member removes another');
$res = api(DELETE => "/api/v1/teams/$tid/members/$cid", $alice);
is($res->{status}, 204, 'the owner removes carol: 204');
is($res->{content} // '', '', '204: no body');
error_is(api(GET => "/api/v1/teams/$tid", $carol), 404, 'not_found',
         'carol no longer sees the team');
error_is(api(DELETE => "/api/v1/teams/$tid/members/$cid", $alice),
         404, 'not_found', 'remove a non-member');
error_is(api(DELETE => "/api/v1/teams/$tid/members/$aid", $alice),
         409, 'owner_cannot_leave', 'the owner leaves');

# ---- ownership transfer

error_is(api(POST => "/api/v1/teams/$tid/transfer", $alice,
             { user_id => $did }),
         422, 'validation_failed', 'transfer to a non-member', 'user_id');
error_is(api(POST => "/api/v1/teams/$tid/transfer", $alice,
             { user_id => $aid }),
         422, 'validation_failed', 'transfer to oneself', 'user_id');
error_is(api(POST => "/api/v1/teams/$tid/transfer", $alice,
             { user_id => "$bid" }),
         422, 'validation_failed', 'user_id as a string', 'user_id');
error_is(api(POST => "/api/v1/teams/$tid/transfer", $alice,
             { user_id => $bid, force => 1 }),
         422, 'unknown_field', 'transfer, unknown field', 'force');

$res = api(POST => "/api/v1/teams/$tid/transfer", $alice,
           { user_id => $bid });
is($res->{status}, 200, 'transfer to bob: 200') or diag($res->{content});
is($res->{json}{role}, 'member', 'transfer: alice is a member now');

sub owners {
    return psql("SELECT string_agg(user_id::text, ',') FROM team_members"
                . " WHERE team_id = $tid AND role = 'owner'");
}
is(owners(), $bid, 'transfer: exactly one owner row, bob');

error_is(api(PATCH => "/api/v1/teams/$tid", $alice, { name => 'old' }),
         403, 'forbidden', 'the old owner cannot rename');
error_is(api(POST => "/api/v1/teams/$tid/invitations", $alice,
             { email => 'x@example.com' }),
         403, 'forbidden', 'the old owner cannot invite');
is(api(PATCH => "/api/v1/teams/$tid", $bob, { name => 'Bob\'s' })->{status},
   200, 'the new owner renames');

# an invitation as owner hands the team over on acceptance
$res = api(POST => "/api/v1/teams/$tid/invitations", $bob,
           { email => $carol_email, role => 'owner' });
is($res->{status}, 201, 'invite carol as owner: 201');
$res = api(POST => "/api/v1/invitations/$res->{json}{id}/accept", $carol);
is($res->{status}, 200, 'carol accepts the ownership');
is(owners(), $cid, 'accept as owner: exactly one owner row, carol');
is(api(GET => "/api/v1/teams/$tid", $bob)->{json}{role}, 'member',
   'bob is a member again');
is(api(GET => "/api/v1/teams/$tid", $carol)->{json}{role}, 'owner',
   'carol is the owner');
is(psql("SELECT count(*) FROM team_members WHERE team_id = $tid"), 3,
   'three members');

is(api(DELETE => "/api/v1/teams/$tid/members/$aid", $alice)->{status}, 204,
   'alice leaves');
error_is(api(GET => "/api/v1/teams/$tid", $alice), 404, 'not_found',
         'alice no longer sees the team');

# ---- delete

error_is(api(DELETE => "/api/v1/teams/$tid", $bob), 403, 'forbidden',
         'a member deletes');
is(api(DELETE => "/api/v1/teams/$tid", $carol)->{status}, 204,
   'the owner deletes: 204');
error_is(api(GET => "/api/v1/teams/$tid", $carol), 404, 'not_found',
         'deleted');
is(psql("SELECT count(*) FROM team_members WHERE team_id = $tid") +
   psql("SELECT count(*) FROM team_invitations WHERE team_id = $tid"), 0,
   'members and invitations went with it');

# ---- pages

my @made = map {
    api(POST => '/api/v1/teams', $dave, { name => "t$_" })->{json}{id}
} 1 .. 5;
is(scalar(grep { defined } @made), 5, 'dave creates 5 teams');

my (@seen, @sizes);
my $cursor;
for my $page (1 .. 10) {
    my $q = '/api/v1/teams?limit=2'
            . (defined $cursor ? "&cursor=$cursor" : '');
    $res = api(GET => $q, $dave);
    is($res->{status}, 200, "page $page: 200") or last;
    push @sizes, scalar @{ $res->{json}{data} };
    push @seen, map { $_->{id} } @{ $res->{json}{data} };
    $cursor = $res->{json}{next_cursor};
    last unless defined $cursor;
}
is_deeply(\@sizes, [ 2, 2, 1 ], 'limit=2: three pages of 2, 2, 1');
is_deeply(\@seen, [ sort { $a <=> $b } @made ],
          'pages: every team once, in order, no gaps');

$res = api(GET => '/api/v1/teams', $dave);
is(scalar @{ $res->{json}{data} }, 5, 'default limit: all 5');

for my $c ([ 'limit=0', 'limit' ], [ 'limit=101', 'limit' ],
           [ 'limit=x', 'limit' ], [ 'cursor=***', 'cursor' ],
           [ 'cursor=YWJj', 'cursor' ], [ 'limit=%', 'limit' ])
{
    error_is(api(GET => "/api/v1/teams?$c->[0]", $dave), 422,
             'validation_failed', "list ?$c->[0]", $c->[1]);
}

# ---- a READ-only personal token

$res = api(POST => '/api/v1/tokens', $dave,
           { name => 'ci', scopes => ['READ'] });
is($res->{status}, 201, 'a READ token: 201') or diag($res->{content});
my $ro = $res->{json}{token} // 'none';

$res = api(GET => '/api/v1/teams', $ro);
is($res->{status}, 200, 'READ token lists');
is(scalar @{ $res->{json}{data} // [] }, 5, 'READ token: all 5 teams');
is(api(GET => "/api/v1/teams/$made[0]", $ro)->{status}, 200,
   'READ token reads a team');
is(api(GET => '/api/v1/invitations', $ro)->{status}, 200,
   'READ token lists invitations');

for my $c (
    [ POST   => '/api/v1/teams', { name => 'nope' } ],
    [ PATCH  => "/api/v1/teams/$made[0]", { name => 'nope' } ],
    [ DELETE => "/api/v1/teams/$made[0]" ],
    [ POST   => "/api/v1/teams/$made[0]/invitations",
      { email => 'x@example.com' } ],
) {
    my ($method, $path, $body) = @$c;
    error_is(api($method, $path, $ro, $body), 403, 'insufficient_scope',
             "READ token: $method $path");
}
is(api(GET => "/api/v1/teams/$made[0]", $dave)->{json}{name}, 't1',
   'the READ token changed nothing');

# a READ token still cannot see what its user cannot
error_is(api(GET => "/api/v1/teams/$made[0]", $alice), 404, 'not_found',
         "alice cannot see dave's team");

done_testing();
