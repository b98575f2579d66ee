# Accounts and sessions: signup, login (with its backoff), refresh with
# rotation and reuse detection, logout, argon2 parameters and rehash, the
# nginx rate limit on /auth/, and no secret in any log.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use JSON::PP ();
use POSIX ();
use HTTP::Tiny;
use ShipoffTest qw(stack_up http);

my $s = stack_up(env => { SHIPOFF_AUTH_RATE  => '1000r/s',
                          SHIPOFF_AUTH_BURST => '1000' });
my $pw = 'correct horse battery';
my @secrets;                            # must never reach a log file

# bodies as UTF-8 JSON (the shared helper sends Perl characters)
my $utf8 = JSON::PP->new->utf8->canonical;
sub post { http(POST => $s->url("/auth/v1/$_[0]"), $utf8->encode($_[1])) }

sub psql { $s->psql(@_) }

sub is_session {
    my ($res, $status, $email, $name) = @_;
    is($res->{status}, $status, "$name: $status") or diag $res->{content};
    my $j = $res->{json} || {};
    is($j->{user}{email}, $email, "$name: the normalised email");
    like($j->{user}{id} // '', qr/^\d+$/, "$name: a user id");
    like($j->{user}{created_at} // '',
         qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, "$name: RFC 3339 created_at");
    like($j->{access_token} // '', qr/^[\w-]+\.[\w-]+\.[\w-]+$/,
         "$name: a JWT");
    like($j->{refresh_token} // '', qr/^shr_[\w-]{43}$/,
         "$name: an opaque refresh token");
    is($j->{token_type}, 'Bearer', "$name: Bearer");
    is($j->{expires_in}, 86400, "$name: expires_in is access_ttl");
    push @secrets, $j->{access_token}, $j->{refresh_token};
    return $j;
}

# --- signup -------------------------------------------------------------

my $email = "alice-$$\@example.com";
push @secrets, $pw;
my $alice = is_session(post(signup => { email => "  \U$email\E \n",
                                        password => $pw, name => 'Alice' }),
                       201, $email, 'signup');
is($alice->{user}{name}, 'Alice', 'signup: the name');

my $me = http(GET => $s->url('/api/v1/me'), undef, $s->auth_header($alice));
is($me->{status}, 200, 'the new access token works on /api/v1/me');
is($me->{json}{email}, $email, '/me is the new user');

is(psql("SELECT password_hash FROM users WHERE email = '$email'")
   =~ /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/ ? 1 : 0, 1,
   'the PHC string carries the configured argon2 parameters');

# the same email again, however written: 409 from the unique index
for my $variant ($email, uc $email, " $email ", "\t\u$email") {
    my $res = post(signup => { email => $variant, password => $pw });
    is($res->{status}, 409, "duplicate '$variant': 409");
    is($res->{json}{error}{code}, 'email_taken',
       "duplicate '$variant': email_taken");
}

# bad input is a 422 naming the field, never a 500
my $long = 'x' x 1025;
my @bad = (
    [ { password => $pw },                          'validation_failed', 'email' ],
    [ { email => 42, password => $pw },             'validation_failed', 'email' ],
    [ { email => 'no-at-sign', password => $pw },   'validation_failed', 'email' ],
    [ { email => '@example.com', password => $pw }, 'validation_failed', 'email' ],
    [ { email => 'a@@example.com', password => $pw }, 'validation_failed', 'email' ],
    [ { email => 'a b@example.com', password => $pw }, 'validation_failed', 'email' ],
    [ { email => 'a@localhost', password => $pw },  'validation_failed', 'email' ],
    [ { email => "x\x{e9}\@example.com", password => $pw }, 'validation_failed', 'email' ],
    [ { email => 'new1@example.com' },              'validation_failed', 'password' ],
    [ { email => 'new1@example.com', password => 12345678 }, 'validation_failed', 'password' ],
    [ { email => 'new1@example.com', password => 'seven77' }, 'weak_password', 'password' ],
    [ { email => 'new1@example.com', password => "\x{e9}" x 7 }, 'weak_password', 'password' ],
    [ { email => 'new1@example.com', password => $long }, 'weak_password', 'password' ],
    [ { email => 'new1@example.com', password => 'NEW1@Example.com' }, 'weak_password', 'password' ],
    [ { email => 'new1@example.com', password => $pw, name => 'n' x 101 }, 'validation_failed', 'name' ],
    [ { email => 'new1@example.com', password => $pw, name => [] }, 'validation_failed', 'name' ],
    [ { email => 'new1@example.com', password => $pw, admin => \1 }, 'unknown_field', 'admin' ],
);
for my $c (@bad) {
    my ($body, $code, $field) = @$c;
    my $what = ShipoffTest::json_encode($body);
    $what = substr($what, 0, 70) . '...' if length $what > 70;
    my $res = post(signup => $body);
    is($res->{status}, 422, "signup $what: 422");
    is($res->{json}{error}{code}, $code, "signup $what: $code");
    is($res->{json}{error}{field}, $field, "signup $what: field $field");
}
is(psql("SELECT count(*) FROM users WHERE email LIKE 'new1%'"), 0,
   'no rejected signup created an account');

my $ok = post(signup => { email => "eight-$$\@example.com",
                          password => "\x{e9}" x 8, name => 'n' x 100 });
is($ok->{status}, 201, '8 characters (16 bytes) and a 100-character name '
   . 'are accepted');
push @secrets, $ok->{json}{access_token}, $ok->{json}{refresh_token};

# --- login --------------------------------------------------------------

my $login = is_session(post(login => { email => " \u$email", password => $pw }),
                       200, $email, 'login');
isnt($login->{refresh_token}, $alice->{refresh_token},
     'login: a new refresh token');

my $unknown = post(login => { email => "nobody-$$\@example.com",
                              password => $pw });
my $wrong = post(login => { email => $email, password => "$pw!" });
is($unknown->{status}, 401, 'unknown email: 401');
is($wrong->{status}, 401, 'wrong password: 401');
is($unknown->{json}{error}{code}, 'invalid_credentials',
   'unknown email: invalid_credentials');
is($unknown->{content}, $wrong->{content},
   'unknown email and wrong password: the same body');

for my $c ([ { email => $email }, 'password' ],
           [ { password => $pw }, 'email' ],
           [ { email => $email, password => $pw, otp => 1 }, 'otp' ])
{
    my $res = post(login => $c->[0]);
    is($res->{status}, 422, "login without/with $c->[1]: 422");
    is($res->{json}{error}{field}, $c->[1], "login: field $c->[1]");
}

# the same time for both: an unknown email costs a dummy verification
{
    use Time::HiRes qw(time);
    my (%t, $t0);
    for my $round (1 .. 3) {
        for my $who ('unknown', 'wrong') {
            my $e = $who eq 'unknown' ? "ghost$round-$$\@example.com" : $email;
            $t0 = time;
            post(login => { email => $e, password => "nope$round$who" });
            $t{$who} += time - $t0;
        }
    }
    psql("DELETE FROM login_failures");
    my $ratio = $t{unknown} / $t{wrong};
    ok($ratio > 0.5 && $ratio < 2,
       sprintf('unknown email and wrong password take the same time '
               . '(%.3fs vs %.3fs)', $t{unknown}, $t{wrong}));
}

# --- backoff ------------------------------------------------------------

for my $who ([ 'a known email', $email ],
             [ 'an unknown email', "ghost-$$\@example.com" ])
{
    my ($name, $e) = @$who;
    for my $n (1 .. 5) {
        my $res = post(login => { email => $e, password => "guess$n" });
        is($res->{status}, 401, "$name: failure $n is 401");
    }
    my $res = post(login => { email => $e, password => $pw });
    is($res->{status}, 429, "$name: locked after 5 failures, even with "
       . 'the right password');
    is($res->{json}{error}{code}, 'too_many_attempts',
       "$name: too_many_attempts");
    like($res->{headers}{'retry-after'} // '', qr/^[1-9]\d*$/,
         "$name: Retry-After");
}
is(psql("SELECT failures FROM login_failures ORDER BY failures"), "5\n5",
   'a locked attempt does not count as a failure; one row per email, '
   . 'known or not');
is(psql("SELECT count(*) FROM login_failures WHERE key_hash LIKE '%@%'"),
   0, 'the table holds hashes, not emails');


sleep 2;
my $res = post(login => { email => $email, password => "guess6" });
is($res->{status}, 401, 'after the lock: a wrong password is 401 again');
$res = post(login => { email => $email, password => $pw });
is($res->{status}, 429, 'the 6th failure locks again, longer');
my $wait = $res->{headers}{'retry-after'} // 9;
cmp_ok($wait, '>=', 2, 'the 6th failure locks for 2 s');
sleep $wait;
$res = post(login => { email => $email, password => $pw });
is($res->{status}, 200, 'after the lock: the right password logs in');
push @secrets, $res->{json}{access_token}, $res->{json}{refresh_token};
is(psql("SELECT count(*) FROM login_failures WHERE failures >= 6"), 0,
   'a success clears the failures');
$res = post(login => { email => $email, password => 'guess again' });
is($res->{status}, 401, 'after a success, one failure is a plain 401');
psql("DELETE FROM login_failures");

# the lock is per email and client: another client (127.0.0.2, the same
# host here) is not locked out by the failures of this one, so nobody can
# lock a user out by failing at the user's email
{
    post(login => { email => $email, password => "guess$_" }) for 1 .. 5;
    # locked for an hour, so that no timing matters below
    psql("UPDATE login_failures SET locked_until = now() + interval '1 h'");
    my $ua = HTTP::Tiny->new(timeout => 30, local_address => '127.0.0.2');
    my $other = sub {
        $ua->request(POST => $s->url('/auth/v1/login'),
                     { headers => { 'Content-Type' => 'application/json' },
                       content => $utf8->encode($_[0]) });
    };
    is(post(login => { email => $email, password => $pw })->{status}, 429,
       'this client is locked out of the email');
    my $res = $other->({ email => $email, password => $pw });
    is($res->{status}, 200, 'another client logs in with the password')
        or diag $res->{content};
    push @secrets, $res->{content} =~ /"(?:access|refresh)_token":"([^"]+)"/g;
    is($other->({ email => $email, password => 'nope' })->{status}, 401,
       '  and a wrong password there is a plain 401');
    is(post(login => { email => $email, password => $pw })->{status}, 429,
       'while this client stays locked');
    psql("DELETE FROM login_failures");
}

# --- refresh and logout -------------------------------------------------

sub refresh { post(refresh => { refresh_token => $_[0] }) }

my $r1 = refresh($login->{refresh_token});
my $s1 = is_session($r1, 200, $email, 'refresh');
isnt($s1->{refresh_token}, $login->{refresh_token}, 'refresh: rotated');
my $r2 = refresh($s1->{refresh_token});
my $s2 = is_session($r2, 200, $email, 'refresh of the new token');

# the first, spent token again: it was copied, the family dies
$res = refresh($login->{refresh_token});
is($res->{status}, 401, 'a spent refresh token: 401');
is($res->{json}{error}{code}, 'invalid_token', 'a spent token: invalid_token');
is(refresh($s2->{refresh_token})->{status}, 401,
   'reuse revoked the family: the newest descendant no longer works');
is(refresh($alice->{refresh_token})->{status}, 200,
   'another family (the signup session) is untouched');

# two concurrent refreshes of one token: exactly one wins
{
    my $t = is_session(post(login => { email => $email, password => $pw }),
                       200, $email, 'login for the race')->{refresh_token};
    my @kids;
    for (1 .. 4) {
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            POSIX::_exit(refresh($t)->{status} == 200 ? 0 : 1);
        }
        push @kids, $pid;
    }
    my $wins = 0;
    for (@kids) { waitpid($_, 0); $wins++ if $? == 0 }
    is($wins, 1, 'of 4 concurrent refreshes of one token, exactly one wins');
}

for my $bad ('', 'shr_nope', 'x' x 600, 42) {
    my $res = refresh($bad);
    ok($res->{status} == 401 || $res->{status} == 422,
       "refresh with '" . substr($bad, 0, 10) . "': 401 or 422");
}

my $l = is_session(post(login => { email => $email, password => $pw }),
                   200, $email, 'login before logout');
my $l2 = refresh($l->{refresh_token})->{json};
push @secrets, $l2->{refresh_token};
$res = post(logout => { refresh_token => $l->{refresh_token} });
is($res->{status}, 204, 'logout with a spent token of the family: 204');
is($res->{content} // '', '', 'logout: no body');
is(refresh($l2->{refresh_token})->{status}, 401,
   'logout revoked the whole family');
is(post(logout => { refresh_token => $l2->{refresh_token} })->{status}, 204,
   'logout again: 204');
is(post(logout => { refresh_token => 'shr_unknown' })->{status}, 204,
   'logout of an unknown token: 204');

# an expired refresh token
{
    my $t = post(login => { email => $email, password => $pw })
        ->{json}{refresh_token};
    push @secrets, $t;
    psql("UPDATE refresh_tokens SET expires_at = now() - interval '1 s'"
         . " WHERE spent_at IS NULL AND revoked_at IS NULL");
    is(refresh($t)->{status}, 401, 'an expired refresh token: 401');
}

# --- rehash when the configured parameters go up ------------------------

$s->{env}{SHIPOFF_ARGON2_ITERATIONS} = 3;
$s->stop('auth');
$s->start('auth');
for (1 .. 100) {
    last if http(GET => $s->url('/auth/v1/health'))->{status} == 200;
    select(undef, undef, undef, 0.1);
}
$res = post(login => { email => $email, password => $pw });
is($res->{status}, 200, 'login after raising argon2_iterations');
push @secrets, $res->{json}{access_token}, $res->{json}{refresh_token};
like(psql("SELECT password_hash FROM users WHERE email = '$email'"),
     qr/^\$argon2id\$v=19\$m=19456,t=3,p=1\$/,
     'the login rehashed the password with the new parameters');
$res = post(login => { email => $email, password => $pw });
is($res->{status}, 200, 'the rehashed password logs in');
push @secrets, $res->{json}{access_token}, $res->{json}{refresh_token};

# --- no secret in any log -----------------------------------------------

my $logs = $s->logs;
ok(length $logs, 'the logs are not empty');
my @leaks = grep { index($logs, $_) >= 0 } grep { length } @secrets;
is(scalar @leaks, 0, 'no password or token in any log file')
    or diag "leaked: @leaks";

# --- nginx limits /auth/ per address ------------------------------------

my $slow = stack_up(env => { SHIPOFF_AUTH_RATE  => '1r/m',
                             SHIPOFF_AUTH_BURST => '2' });
my @st = map { http(GET => $slow->url('/auth/v1/health')) } 1 .. 5;
my ($limited) = grep { $_->{status} == 429 } @st;
ok($limited, 'past the burst, /auth/ answers 429');
is($limited && $limited->{headers}{'content-type'}, 'application/json',
   'the 429 is JSON');
is($limited && $limited->{json}{error}{code}, 'rate_limited',
   'the 429 says rate_limited');
is(http(GET => $slow->url('/api/v1/health'))->{status}, 200,
   'the API is not limited by the auth zone');

done_testing();
