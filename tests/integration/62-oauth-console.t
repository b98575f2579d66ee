#!/usr/bin/perl
# 62-oauth-console.t: signing in with GitHub from the console, in a real
# browser (tests/browser/oauth.mjs), against FakeProvider: the provider
# sends the browser back to our callback, which lands it on /signin,
# which finishes the login; a refused login is shown on /signin.  Then
# the platform is asked whether it made the account the browser showed.

use strict;
use warnings;
use Test::More;
use JSON::PP ();

use lib 'tests/integration/lib';
use ShipoffTest qw(stack_up);
use ShipoffBrowser qw(browser_test);
use FakeProvider;

my $fp = FakeProvider->start;
my $s = stack_up(env => { $fp->env, SHIPOFF_AUTH_RATE => '1000r/s',
                          SHIPOFF_AUTH_BURST => 1000 });

# the GitHub user who clicks "Authorize": first with a verified email,
# then (a second login) without one, which the platform refuses
my $email = "erin-$$\@example.org";
for my $verified (1, 0) {
    $fp->approve_next(provider => 'github',
                      user => { id => 4242 + $verified, login => 'erin',
                                name => 'Erin' },
                      emails => [{ email => $email, primary => JSON::PP::true,
                                   verified => $verified ? JSON::PP::true
                                                         : JSON::PP::false }]);
}

my $passed = browser_test($s, 'tests/browser/oauth.mjs',
                          SHIPOFF_REFUSAL => 'no verified email');

SKIP: {
    skip 'the browser did not get to the end', 3 unless $passed;
    is($s->psql("SELECT count(*) FROM users WHERE email = '$email'"), 1,
       'the platform made the account the browser signed in to');
    is($s->psql("SELECT i.login FROM oauth_identities i JOIN users u"
                . " ON u.id = i.user_id WHERE u.email = '$email'"),
       'erin', '  linked to the GitHub identity');
    is($s->psql("SELECT count(*) FROM refresh_tokens r JOIN users u"
                . " ON u.id = r.user_id WHERE u.email = '$email'"
                . " AND r.spent_at IS NULL AND r.revoked_at IS NULL"), 1,
       '  with one live session: the console\'s (the cookie\'s was spent)');
}

done_testing;
