#!/usr/bin/perl
# 62-oauth.t: signing in with GitHub and Google against a local fake of
# both (FakeProvider.pm): the redirect, state (bound to the browser by a
# cookie) and PKCE, account creation and linking (only to a verified
# email), the sealed provider token, every way the callback refuses, and
# that no code, state, token or secret reaches a log.

use strict;
use warnings;
use Test::More;
use Digest::SHA qw(sha256 sha256_hex);
use MIME::Base64 qw(encode_base64);
use JSON::PP ();

use lib 'tests/integration/lib';
use ShipoffTest qw(http stack_up run);
use FakeProvider;

my $T = JSON::PP::true;
my $F = JSON::PP::false;
my $PUBLIC = 'http://shipoff.test:8080';

my $fp = FakeProvider->start;
my $s = stack_up(env => { $fp->env, SHIPOFF_PUBLIC_URL => $PUBLIC,
                          SHIPOFF_AUTH_RATE => '1000r/s',
                          SHIPOFF_AUTH_BURST => 1000 });

# everything secret we saw: no log may contain any of it
my @secret = ($fp->client_secret('github'), $fp->client_secret('google'));

# both providers are configured here: the console shows both buttons
# (96-console-serve.t: neither when none is)
{
    my $res = http(GET => $s->url('/auth/v1/providers'));
    is($res->{status}, 200, 'providers: 200');
    is_deeply($res->{json}, { github => $T, google => $T },
              'providers: both configured');
}

sub psql {
    my ($sql) = @_;
    my ($rc, $out) = run('psql', '-X', '-q', '-tA', '-h', $s->var . '/run/pg',
                         '-p', $s->port('pg'), '-U', 'shipoff', '-d',
                         'shipoff', '-c', $sql);
    die "psql: $out" if $rc;
    chomp $out;
    return $out;
}

sub b64url {
    my $b = encode_base64($_[0], '');
    $b =~ tr{+/}{-_};
    $b =~ s/=+$//;
    return $b;
}

sub query_of {
    my ($url) = @_;
    my ($q) = $url =~ /\?(.*)$/ or return {};
    my %q;
    for (split /&/, $q) {
        my ($k, $v) = map { my $x = $_; $x =~ tr/+/ /;
                            $x =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge; $x }
                      split /=/, $_, 2;
        $q{$k} = $v;
    }
    return \%q;
}

sub enc {
    my ($v) = @_;
    $v =~ s/([^A-Za-z0-9\-._~])/sprintf '%%%02X', ord $1/ge;
    return $v;
}

# GET .../start: the authorize URL's query, with the Set-Cookie of the
# answer in {set_cookie}
sub start {
    my ($provider) = @_;
    my $res = http(GET => $s->url("/auth/v1/oauth/$provider/start"));
    die "start $provider: $res->{status} $res->{content}"
        unless $res->{status} == 302;
    my $q = query_of($res->{headers}{location});
    $q->{set_cookie} = $res->{headers}{'set-cookie'} // '';
    push @secret, $q->{state};
    return $q;
}

# the user approves at the provider: a code for what /start asked for
sub approve {
    my ($provider, $q, %args) = @_;
    my $code = $fp->code(provider => $provider,
                         redirect_uri => $q->{redirect_uri},
                         code_challenge => $q->{code_challenge}, %args);
    push @secret, $code;
    push @secret, $args{access_token} if $args{access_token};
    return $code;
}

# the callback in the browser that started the login: its state cookie
# holds the state (cookie => VALUE: another cookie; undef: none)
# (accept => TYPES: the Accept header, a browser's is text/html)
sub callback {
    my ($provider, %q) = @_;
    my $cookie = exists $q{cookie} ? delete $q{cookie} : $q{state};
    my $accept = delete $q{accept};
    my $qs = join '&', map { "$_=" . enc($q{$_}) } sort keys %q;
    return http(GET => $s->url("/auth/v1/oauth/$provider/callback?$qs"),
                undef, { defined $cookie
                             ? (Cookie => "shipoff_oauth_state=$cookie") : (),
                         defined $accept ? (Accept => $accept) : () });
}

sub github_user {
    my ($id, $login, $email, %o) = @_;
    return (user => { id => $id, login => $login, name => $o{name},
                      email => undef },
            emails => [
                { email => "other-$login\@example.org", primary => $F,
                  verified => $T, visibility => undef },
                { email => $email, primary => $T,
                  verified => $o{unverified} ? $F : $T,
                  visibility => 'private' },
            ]);
}

sub google_user {
    my ($sub, $email, %o) = @_;
    return (user => { sub => $sub, email => $email,
                      email_verified => $o{unverified} ? $F : $T,
                      name => $o{name} // 'Gee' });
}

# the whole flow; returns the callback's answer
sub login {
    my ($provider, @user) = @_;
    my $q = start($provider);
    my $code = approve($provider, $q, @user);
    return callback($provider, code => $code, state => $q->{state});
}

sub token_requests {
    scalar grep { $_->{method} eq 'POST'
                  && $_->{path} =~ m{^/(login/oauth/access_token|token)$} }
        @{ $fp->requests };
}

sub error_is {
    my ($res, $status, $code, $name) = @_;
    is($res->{status}, $status, "$name: $status")
        or diag $res->{content};
    is($res->{json} && $res->{json}{error}{code}, $code, "$name: $code");
}

# ---- start ----

{
    my $q = start('github');
    my $res = http(GET => $s->url('/auth/v1/oauth/github/start'));
    like($res->{headers}{location},
         qr{^\Q${\ $fp->url}\E/login/oauth/authorize\?},
         'github start redirects to the configured authorize URL');
    is($res->{json}{authorize_url}, $res->{headers}{location},
       'the body names the same URL');
    is($q->{client_id}, $fp->client_id('github'), 'client_id');
    is($q->{redirect_uri}, "$PUBLIC/auth/v1/oauth/github/callback",
       'redirect_uri is under public_url');
    is($q->{scope}, 'read:user user:email repo admin:repo_hook', 'scope');
    is($q->{response_type}, 'code', 'response_type');
    like($q->{state}, qr/^[A-Za-z0-9_-]{43,}$/, 'a 256-bit state');
    ok(!exists $q->{code_challenge}, 'no PKCE for GitHub');
    is(psql("SELECT count(*) FROM oauth_states WHERE state_hash = '"
            . sha256_hex($q->{state}) . "' AND provider = 'github'"
            . " AND expires_at > now() + interval '9 minutes'"), 1,
       'the state is stored hashed with its expiry');
    is(psql("SELECT count(*) FROM oauth_states WHERE state_hash = '"
            . $q->{state} . "'"), 0, 'never in clear');

    my $g = start('google');
    is($g->{client_id}, $fp->client_id('google'), 'google client_id');
    is($g->{scope}, 'openid email profile', 'google scope');
    is($g->{code_challenge_method}, 'S256', 'PKCE S256');
    my $verifier = psql("SELECT code_verifier FROM oauth_states"
                        . " WHERE state_hash = '" . sha256_hex($g->{state})
                        . "'");
    like($verifier, qr/^[A-Za-z0-9_-]{43,128}$/,
         'the verifier is kept server side');
    is($g->{code_challenge}, b64url(sha256($verifier)),
       'challenge = base64url(sha256(verifier))');
    push @secret, $verifier;
}

error_is(http(GET => $s->url('/auth/v1/oauth/gitlab/start')), 404,
         'not_found', 'unknown provider');
error_is(http(GET => $s->url('/auth/v1/oauth/gitlab/callback?code=x&state=y')),
         404, 'not_found', 'unknown provider callback');

# ---- GitHub: new user, then the same user again ----

my $gh_token = 'gho_' . ('a1' x 18);
my $res = login('github', github_user(7001, 'ann', 'Ann@Example.com',
                                      name => 'Ann A.'),
                access_token => $gh_token);
is($res->{status}, 200, 'github login: 200') or diag $res->{content};
my $ann = $res->{json}{user}{id};
is($res->{json}{user}{email}, 'ann@example.com',
   'a new account with the normalised verified email');
is(psql("SELECT email_verified FROM users WHERE id = $ann"), 't',
   '  its email verified, as the provider said');
is($res->{json}{user}{name}, 'Ann A.', 'named after the profile');
is($res->{json}{token_type}, 'Bearer', 'token_type');
ok($res->{json}{access_token} && $res->{json}{refresh_token},
   'our token pair');
push @secret, $res->{json}{access_token}, $res->{json}{refresh_token};
is(psql("SELECT password_hash IS NULL FROM users WHERE id = $ann"), 't',
   'an OAuth-only account has no password');
is(psql("SELECT login || ' ' || subject FROM oauth_identities"
        . " WHERE user_id = $ann AND provider = 'github'"), 'ann 7001',
   'the identity is recorded');
my $sealed = psql("SELECT access_token_enc FROM oauth_identities"
                  . " WHERE user_id = $ann");
ok(length $sealed > length $gh_token, 'the provider token is kept');
unlike($sealed, qr/\Q$gh_token\E|a1a1a1/, 'sealed, not in clear');

{
    my $r = http(POST => $s->url('/auth/v1/refresh'),
                 { refresh_token => $res->{json}{refresh_token} });
    is($r->{status}, 200, 'the refresh token works') or diag $r->{content};
    push @secret, $r->{json}{access_token} // (),
        $r->{json}{refresh_token} // ();
}

{
    my @reqs = @{ $fp->requests };
    my ($tok) = grep { $_->{path} eq '/login/oauth/access_token' } @reqs;
    is($tok->{form}{client_secret}, $fp->client_secret('github'),
       'the exchange sends the client secret');
    is($tok->{form}{redirect_uri}, "$PUBLIC/auth/v1/oauth/github/callback",
       'and the same redirect_uri');
    like($tok->{headers}{accept}, qr{application/json}, 'and asks for JSON');
    my ($emails) = grep { $_->{path} eq '/user/emails' } @reqs;
    is($emails->{headers}{authorization}, "Bearer $gh_token",
       'user info is read with the bearer token');
}

my $gh_token2 = 'gho_' . ('b2' x 18);
$res = login('github', github_user(7001, 'ann-renamed', 'ann@example.com'),
             access_token => $gh_token2);
is($res->{status}, 200, 'second github login: 200') or diag $res->{content};
is($res->{json}{user}{id}, $ann, 'the same account');
is(psql("SELECT count(*) FROM oauth_identities WHERE user_id = $ann"), 1,
   'one identity');
is(psql("SELECT login FROM oauth_identities WHERE user_id = $ann"),
   'ann-renamed', 'its login follows the profile');
isnt(psql("SELECT access_token_enc FROM oauth_identities"
          . " WHERE user_id = $ann"), $sealed, 'the new token is kept');

# ---- an existing password account: its email is not verified, so a
# provider login with that address enters nothing (anyone can sign up
# with anyone's address)

my $bob = $s->signup(email => 'bob@example.com');
push @secret, $bob->{access_token}, $bob->{refresh_token};
is(psql("SELECT email_verified FROM users WHERE id = $bob->{user}{id}"),
   'f', 'a password sign-up is not verified');
error_is(login('github', github_user(7002, 'bobby', 'BOB@example.com')),
         409, 'account_exists_unverified',
         'github login with the email of an unverified account');
error_is(login('google', google_user('g-7002', 'bob@example.com')),
         409, 'account_exists_unverified',
         'google login with the email of an unverified account');
is(psql("SELECT count(*) FROM oauth_identities"
        . " WHERE user_id = $bob->{user}{id}"), 0, '  no identity linked');
is(psql("SELECT count(*) FROM users WHERE email = 'bob\@example.com'"), 1,
   '  no second account');

# verified (by the mail issue's flow; here by the database), it is linked
psql("UPDATE users SET email_verified = true WHERE id = $bob->{user}{id}");
$res = login('github', github_user(7002, 'bobby', 'BOB@example.com'));
is($res->{status}, 200, 'github login of a verified password user: 200')
    or diag $res->{content};
is($res->{json}{user}{id}, $bob->{user}{id}, 'linked to the account');
is(psql("SELECT count(*) FROM users WHERE email = 'bob\@example.com'"), 1,
   'no second account');
is(psql("SELECT password_hash IS NOT NULL FROM users"
        . " WHERE id = $bob->{user}{id}"), 't', 'the password stays');

# ---- Google, with PKCE ----

$res = login('google', google_user('g-1001', 'gina@example.com'),
             access_token => 'ya29.' . ('c3' x 20));
is($res->{status}, 200, 'google login: 200') or diag $res->{content};
my $gina = $res->{json}{user}{id};
is($res->{json}{user}{email}, 'gina@example.com', 'google: new account');
{
    my ($tok) = grep { $_->{path} eq '/token' } @{ $fp->requests };
    is($tok->{form}{grant_type}, 'authorization_code', 'grant_type');
    ok(length($tok->{form}{code_verifier} // '') >= 43,
       'the code_verifier is sent (and matched: the fake checks it)');
}
$res = login('google', google_user('g-1001', 'gina@example.com'));
is($res->{json}{user}{id}, $gina, 'google: second login, same account');

# Ann signs in with Google too: linked by email to her GitHub account
$res = login('google', google_user('g-2002', 'ann@example.com'));
is($res->{json}{user}{id}, $ann, 'google links by email to the account');
is(psql("SELECT count(*) FROM oauth_identities WHERE user_id = $ann"), 2,
   'one identity per provider');

error_is(login('github', github_user(7099, 'ann2', 'ann@example.com')), 409,
         'identity_conflict',
         'a second GitHub account with the email of a linked account');
is(psql("SELECT subject FROM oauth_identities WHERE user_id = $ann"
        . " AND provider = 'github'"), '7001', 'the first link stays');

{
    my $q = start('google');
    my $code = approve('google', $q, google_user('g-3', 'x@example.com'),
                       code_challenge => b64url(sha256('another verifier'
                                                       . 'x' x 30)));
    error_is(callback('google', code => $code, state => $q->{state}), 502,
             'provider_error', 'google refuses a wrong code_verifier');
}

# ---- the state is bound to the browser that started the login ----

{
    my $q = start('github');
    my $c = $q->{set_cookie};
    like($c, qr/^shipoff_oauth_state=\Q$q->{state}\E;/,
         'start sets the state in a cookie');
    like($c, qr/;\s*HttpOnly(;|$)/i, '  HttpOnly');
    like($c, qr/;\s*SameSite=Lax(;|$)/i, '  SameSite=Lax');
    like($c, qr/;\s*Path=\/auth\/(;|$)/, '  Path=/auth/');
    like($c, qr/;\s*Max-Age=600(;|$)/, '  for as long as the state lives');
    unlike($c, qr/Secure/i, '  not Secure under an http:// public_url');

    my $code = approve('github', $q, github_user(7500, 'cc', 'cc@example.com'));
    my $before = token_requests();
    error_is(callback('github', code => $code, state => $q->{state},
                      cookie => undef), 403, 'state_mismatch',
             'a callback without the cookie (a victim sent the link)');
    my $other = start('github');
    error_is(callback('github', code => $code, state => $q->{state},
                      cookie => $other->{state}), 403, 'state_mismatch',
             "a callback with another login's cookie");
    is(token_requests(), $before, '  no code was exchanged');
    $res = callback('github', code => $code, state => $q->{state});
    is($res->{status}, 200, 'the browser that started it signs in')
        or diag $res->{content};
    like($res->{headers}{'set-cookie'} // '',
         qr/^shipoff_oauth_state=;.*Max-Age=0/, '  and its cookie is cleared');
    push @secret, $res->{json}{access_token} // (),
        $res->{json}{refresh_token} // ();
}

# ---- the state ----

{
    my $q = start('github');
    my $code = approve('github', $q, github_user(1, 'x', 'x@example.com'));
    my $before = token_requests();
    error_is(callback('github', code => $code, state => 'A' x 43), 400,
             'invalid_state', 'unknown state');
    error_is(callback('github', code => $code), 400, 'invalid_state',
             'no state');
    error_is(callback('github', code => $code, state => $q->{state} . 'x'),
             400, 'invalid_state', 'a state one character off');
    is(token_requests(), $before, 'no code was exchanged for a bad state');
    is(callback('github', code => $code, state => $q->{state})->{status},
       200, 'the real state still works');
    error_is(callback('github', code => $code, state => $q->{state}), 400,
             'invalid_state', 'a used state');
}

{
    my $q = start('github');
    my $code = approve('github', $q, github_user(2, 'y', 'y@example.com'));
    psql("UPDATE oauth_states SET expires_at = now() - interval '1 second'"
         . " WHERE state_hash = '" . sha256_hex($q->{state}) . "'");
    error_is(callback('github', code => $code, state => $q->{state}), 400,
             'invalid_state', 'an expired state');
}

{
    my $q = start('google');
    my $code = approve('google', $q, google_user('g-9', 'z@example.com'));
    error_is(callback('github', code => $code, state => $q->{state}), 400,
             'invalid_state', "google's state at github's callback");
    error_is(callback('google', code => $code, state => $q->{state}), 400,
             'invalid_state', 'which spends it');
}

{
    my $q = start('github');
    error_is(callback('github', state => $q->{state}), 400,
             'validation_failed', 'no code');
    error_is(callback('github', error => 'access_denied',
                      state => $q->{state}), 403, 'oauth_denied',
             'the user said no');
    my $code = approve('github', $q, github_user(3, 'w', 'w@example.com'));
    error_is(callback('github', code => $code, state => $q->{state}), 400,
             'invalid_state', 'a refused login spends the state');
}

# ---- the provider fails ----

for my $case (
    [ github => 'token_error', 'refuses the code (200 {"error"})' ],
    [ github => 'token_500',   'answers 500 HTML' ],
    [ github => 'hangup',      'hangs up' ],
    [ github => 'user_401',    'refuses its own token' ],
    [ google => 'token_error', 'refuses the code (400 invalid_grant)' ],
    [ google => 'user_401',    'refuses its own token' ],
) {
    my ($provider, $fail, $what) = @$case;
    my @user = $provider eq 'github'
        ? github_user(4000, 'f', 'f@example.com')
        : google_user('g-f', 'f@example.com');
    my $q = start($provider);
    my $code = approve($provider, $q, @user, fail => $fail);
    error_is(callback($provider, code => $code, state => $q->{state}), 502,
             'provider_error', "$provider $what");
}

{
    my $q = start('github');
    error_is(callback('github', code => 'never-issued', state => $q->{state}),
             502, 'provider_error', 'a code the provider never issued');
}
is(psql("SELECT count(*) FROM users WHERE email = 'f\@example.com'"), 0,
   'no account from a failed login');

# ---- unverified email ----

error_is(login('github', github_user(5001, 'u', 'u@example.com',
                                     unverified => 1)),
         403, 'email_not_verified', 'github: primary email unverified');
error_is(login('google', google_user('g-u', 'u@example.com',
                                     unverified => 1)),
         403, 'email_not_verified', 'google: email_verified false');
is(psql("SELECT count(*) FROM users WHERE email = 'u\@example.com'"), 0,
   'no account for an unverified email');

# ---- a browser lands back in the console ----
# (tests/browser/oauth.mjs, run by 62-oauth-console.t, does it in one)

sub finish {
    my ($cookie) = @_;
    return http(POST => $s->url('/auth/v1/oauth/finish'), {},
                defined $cookie ? { Cookie => "shipoff_oauth_login=$cookie" }
                                : {});
}

{
    my $html = 'text/html,application/xhtml+xml,*/*;q=0.8';
    my $q = start('github');
    my $code = approve('github', $q,
                       github_user(9100, 'carol', 'carol@example.org'));
    my $res = callback('github', code => $code, state => $q->{state},
                       accept => $html);
    is($res->{status}, 303, 'a browser\'s callback: 303')
        or diag $res->{content};
    is($res->{headers}{location}, '/signin?oauth=github',
       '  to the console\'s sign-in page');
    my $sc = $res->{headers}{'set-cookie'} // [];
    my @cookies = ref $sc ? @$sc : ($sc);
    my ($login) = grep { /^shipoff_oauth_login=/ } @cookies;
    like($login // '', qr{^shipoff_oauth_login=shr_[A-Za-z0-9_-]{40,};
                          \ Path=/auth/v1/oauth/finish;\ Max-Age=60;
                          \ HttpOnly;\ SameSite=Lax$}x,
         '  the session waits in a cookie only finish reads, for 60 s');
    ok(scalar(grep { /^shipoff_oauth_state=;.*Max-Age=0/ } @cookies),
       '  the state cookie is cleared');
    unlike($res->{content} // '', qr/shr_|eyJ/, '  no token in the body');
    my ($token) = ($login // '') =~ /^shipoff_oauth_login=([^;]+)/;
    push @secret, $token;

    my $fin = finish($token);
    is($fin->{status}, 200, 'finish: 200') or diag $fin->{content};
    is($fin->{json}{user}{email}, 'carol@example.org',
       '  signed in as the provider\'s user');
    like($fin->{json}{refresh_token} // '', qr/^shr_/, '  a token pair');
    isnt($fin->{json}{refresh_token}, $token, '  whose refresh token is new');
    like($fin->{headers}{'set-cookie'} // '',
         qr/^shipoff_oauth_login=; Path=\/auth\/v1\/oauth\/finish; Max-Age=0/,
         '  and the cookie is cleared');
    push @secret, grep { defined } @{ $fin->{json} }{qw(access_token
                                                         refresh_token)};
    is(http(GET => $s->url('/api/v1/me'), undef,
            { Authorization => "Bearer $fin->{json}{access_token}" })
           ->{json}{email}, 'carol@example.org', '  the access token works');

    error_is(finish($token), 401, 'invalid_token',
             'the same cookie again (a copy)');
    error_is(http(POST => $s->url('/auth/v1/refresh'),
                  { refresh_token => $fin->{json}{refresh_token} }),
             401, 'invalid_token', '  revoked the session it began');
    error_is(finish(undef), 401, 'invalid_token', 'finish without a cookie');
    error_is(finish('shr_' . ('x' x 43)), 401, 'invalid_token',
             'finish with a made-up token');

    $q = start('github');
    $res = callback('github', code => 'nope', state => $q->{state},
                    cookie => 'another', accept => $html);
    is($res->{status}, 303, 'a browser\'s failed callback: 303');
    is($res->{headers}{location}, '/signin?error=state_mismatch',
       '  to the sign-in page, which says why');

    $q = start('github');
    $code = approve('github', $q, github_user(9101, 'dan', 'dan@example.org'));
    $res = callback('github', code => $code, state => $q->{state});
    is($res->{status}, 200, 'an API client\'s callback: the JSON pair');
    push @secret, grep { defined } @{ $res->{json} // {} }{qw(access_token
                                                               refresh_token)};
}

# ---- nothing secret in any log ----

{
    my @hits;
    for my $f (glob $s->var . '/log/*') {
        open my $fh, '<', $f or next;
        local $/;
        my $text = <$fh> // '';
        for my $x (grep { defined && length >= 8 } @secret) {
            push @hits, "$f: " . substr($x, 0, 6) . '...'
                if index($text, $x) >= 0;
        }
    }
    is_deeply(\@hits, [], 'no code, state, token or secret in the logs')
        or diag explain \@hits;
    ok(scalar(@secret) > 40, 'and that is checked for ' . @secret
       . ' values');
}

# ---- an unconfigured provider ----

$s->{env}{SHIPOFF_GOOGLE_CLIENT_ID} = '';
$s->stop('auth');
$s->start('auth');
for (1 .. 100) {
    last if http(GET => $s->url('/auth/v1/health'))->{status} == 200;
    select undef, undef, undef, 0.1;
}
error_is(http(GET => $s->url('/auth/v1/oauth/google/start')), 404,
         'provider_not_configured', 'google without a client id');
error_is(http(GET => $s->url('/auth/v1/oauth/google/callback?code=a&state=b')),
         404, 'provider_not_configured', 'its callback too');
is(http(GET => $s->url('/auth/v1/oauth/github/start'))->{status}, 302,
   'github still works');

done_testing;
