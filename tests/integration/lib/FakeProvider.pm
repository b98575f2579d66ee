# FakeProvider: GitHub's and Google's OAuth endpoints, on loopback, for the
# tests, with Perl core modules only.
#
# One forked HTTP/1.1 server (one connection at a time, Connection: close)
# speaks enough of both protocols to catch a client that gets them wrong:
#
#   GitHub  POST /login/oauth/access_token  form in; JSON out when asked
#                                           (Accept), errors as 200 {"error"}
#           GET  /user, GET /user/emails    bearer token it issued
#           POST /repos/OWNER/REPO/hooks    bearer token it issued, of a code
#                                           approved with repos => ['o/r']
#                                           (admin there); 201 {id}, or 404
#   Google  POST /token                     grant_type, client auth, PKCE:
#                                           S256 of code_verifier must be
#                                           the challenge of the code
#           GET  /userinfo                  bearer token it issued
#
# The authorize step is the user's browser.  A test without one calls our
# /start, reads the Location, and "approves" by registering a code for
# that state here (with the redirect_uri and, for Google, the challenge it
# read), then calls our callback with it.  A browser test says who approves
# the next authorize request (approve_next): GET /login/oauth/authorize
# (GitHub) or /o/oauth2/v2/auth (Google) then checks the client id and
# sends the browser to redirect_uri with a code and the state, as the
# provider does once the user clicks "Authorize".
#
#   my $fp = FakeProvider->start;
#   stack_up(env => { $fp->env });
#   my $code = $fp->code(provider => 'github', redirect_uri => ...,
#       user => { id => 7, login => 'ann' },
#       emails => [{ email => 'ann@x.org', primary => JSON::PP::true,
#                    verified => JSON::PP::true }]);
#   $fp->requests;   # what it received, oldest first, secrets and all
#   $fp->login($stack, 'github', user => ..., emails => ...);  # the flow
#   $fp->approve_next(provider => 'github', user => ..., emails => ...);
#
# A code can fail on purpose: fail => 'token_error' (the provider refuses
# the code), 'token_500', 'hangup' (closes without an answer),
# 'user_401'.

package FakeProvider;

use strict;
use warnings;
use Digest::SHA qw(sha256);
use IO::Socket::INET;
use JSON::PP ();
use MIME::Base64 qw(encode_base64);
use POSIX ();

my $json = JSON::PP->new->canonical->allow_nonref;

my %CLIENT = (
    github => { id => 'gh-client-id', secret => 'gh-secret-' . rand_hex(8) },
    google => { id => 'gg-client-id.apps.example',
                secret => 'gg-secret-' . rand_hex(8) },
);

sub rand_hex {
    my ($n) = @_;
    return join '', map { sprintf '%02x', int rand 256 } 1 .. $n;
}

sub b64url {
    my $s = encode_base64($_[0], '');
    $s =~ tr{+/}{-_};
    $s =~ s/=+$//;
    return $s;
}

sub start {
    my ($class) = @_;
    my $sock = IO::Socket::INET->new(
        LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp',
        Listen => 16, ReuseAddr => 1) or die "FakeProvider: $!";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        # the parent's handlers and END blocks (stack teardown) are not ours
        $SIG{INT} = $SIG{TERM} = 'DEFAULT';
        serve($sock);
        POSIX::_exit(0);
    }
    my $self = bless { pid => $pid, port => $sock->sockport }, $class;
    close $sock;
    return $self;
}

sub DESTROY { $_[0]->stop }

sub stop {
    my ($self) = @_;
    return unless $self->{pid};
    local $?;                       # the test's exit status, at exit
    kill 'TERM', $self->{pid};
    waitpid $self->{pid}, 0;
    delete $self->{pid};
}

sub url { "http://127.0.0.1:$_[0]{port}" }

sub client_id     { $CLIENT{ $_[1] }{id} }
sub client_secret { $CLIENT{ $_[1] }{secret} }

# the stack's environment: our endpoints and client ids, and the secrets
sub env {
    my ($self) = @_;
    my $u = $self->url;
    return (
        SHIPOFF_GITHUB_AUTHORIZE_URL => "$u/login/oauth/authorize",
        SHIPOFF_GITHUB_TOKEN_URL     => "$u/login/oauth/access_token",
        SHIPOFF_GITHUB_API_URL       => $u,
        SHIPOFF_GITHUB_CLIENT_ID     => $CLIENT{github}{id},
        SHIPOFF_GOOGLE_AUTHORIZE_URL => "$u/o/oauth2/v2/auth",
        SHIPOFF_GOOGLE_TOKEN_URL     => "$u/token",
        SHIPOFF_GOOGLE_USERINFO_URL  => "$u/userinfo",
        SHIPOFF_GOOGLE_CLIENT_ID     => $CLIENT{google}{id},
        SHIPOFF_EXTRA_SECRETS =>
            "github_client_secret = $CLIENT{github}{secret}\n"
            . "google_client_secret = $CLIENT{google}{secret}",
    );
}

# code(%args): registers an approval; returns the code
sub code {
    my ($self, %args) = @_;
    my $res = $self->control(POST => '/_fake/codes', \%args);
    return $res->{code};
}

# approve_next(%args): the user who approves one authorize request of the
# provider in a browser, in turn (code()'s arguments but the redirect and
# challenge, which the request brings)
sub approve_next {
    my ($self, %args) = @_;
    $self->control(POST => '/_fake/next', \%args);
}

# every request it received, oldest first: {method, path, headers, form}
sub requests { $_[0]->control(GET => '/_fake/requests') }

# login($stack, PROVIDER, %approval): the whole flow as one browser does
# it: our /start (its state cookie kept), the approval here (code()'s
# arguments), our callback with the cookie.  Our callback's answer.
sub login {
    my ($self, $s, $provider, %args) = @_;
    require ShipoffTest;
    my $res = ShipoffTest::http(
        GET => $s->url("/auth/v1/oauth/$provider/start"));
    die "start $provider: $res->{status} $res->{content}\n"
        unless $res->{status} == 302;
    my ($query) = ($res->{headers}{location} // '') =~ /\?(.*)$/;
    my %q = map { my ($k, $v) = split /=/, $_, 2;
                  $v =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge; ($k, $v) }
            split /&/, $query // '';
    my ($cookie) = ($res->{headers}{'set-cookie'} // '') =~ /^([^;]+)/;
    my $code = $self->code(provider => $provider,
                           redirect_uri => $q{redirect_uri},
                           code_challenge => $q{code_challenge}, %args);
    return ShipoffTest::http(
        GET => $s->url("/auth/v1/oauth/$provider/callback?code=$code"
                       . "&state=$q{state}"),
        undef, { Cookie => $cookie // '' });
}

sub control {
    my ($self, $method, $path, $body) = @_;
    require HTTP::Tiny;
    my $res = HTTP::Tiny->new(timeout => 10)->request($method,
        $self->url . $path,
        { content => defined $body ? $json->encode($body) : '' });
    die "FakeProvider $path: $res->{status} $res->{content}\n"
        unless $res->{success};
    return $json->decode($res->{content});
}

# ---- the server (in the child) ----

my (%codes, %tokens, %next, @log);

sub serve {
    my ($listen) = @_;
    while (my $c = $listen->accept) {
        my $req = read_request($c);
        if ($req) {
            my @res = eval { handle($req) };
            @res = (500, { error => "fake: $@" }) if $@;
            write_response($c, @res) unless ($res[0] // '') eq 'hangup';
        }
        close $c;
    }
}

sub read_request {
    my ($c) = @_;
    local $/ = "\r\n";
    my $line = <$c> // return;
    my ($method, $target) = $line =~ m{^(\S+) (\S+) HTTP/1\.[01]\r\n$}
        or return;
    my %h;
    while (defined(my $l = <$c>)) {
        last if $l eq "\r\n";
        $l =~ s/\r\n$//;
        my ($k, $v) = split /:\s*/, $l, 2;
        $h{ lc $k } = $v;
    }
    my $body = '';
    if (my $len = $h{'content-length'}) {
        read($c, $body, $len);
    }
    my ($path, $query) = split /\?/, $target, 2;
    return { method => $method, path => $path, query => $query // '',
             headers => \%h, body => $body };
}

sub write_response {
    my ($c, $status, $body, $type, $location) = @_;
    my $text = ref $body ? $json->encode($body) : $body;
    $type //= ref $body ? 'application/json; charset=utf-8' : 'text/html';
    print $c "HTTP/1.1 $status X\r\nContent-Type: $type\r\n"
        . (defined $location ? "Location: $location\r\n" : '')
        . "Content-Length: " . length($text) . "\r\nConnection: close\r\n\r\n"
        . $text;
}

sub form_decode {
    my ($s) = @_;
    my %f;
    for my $pair (split /&/, $s // '') {
        my ($k, $v) = split /=/, $pair, 2;
        for ($k, $v) {
            next unless defined;
            tr/+/ /;
            s/%([0-9A-Fa-f]{2})/chr hex $1/ge;
        }
        $f{$k} = $v;
    }
    return \%f;
}

sub bearer {
    my ($req) = @_;
    my ($t) = ($req->{headers}{authorization} // '')
        =~ /^(?:Bearer|token) (\S+)$/;
    return defined $t ? $tokens{$t} : undef;
}

sub handle {
    my ($req) = @_;
    my $form = form_decode($req->{body});
    push @log, { method => $req->{method}, path => $req->{path},
                 headers => $req->{headers}, form => $form,
                 body => $req->{body} };
    my $p = "$req->{method} $req->{path}";

    if ($p eq 'POST /_fake/codes') {
        pop @log;
        my $a = $json->decode($req->{body});
        my $code = rand_hex(10);
        $codes{$code} = $a;
        return (201, { code => $code });
    }
    if ($p eq 'GET /_fake/requests') {
        pop @log;
        return (200, \@log);
    }
    if ($p eq 'POST /_fake/next') {
        pop @log;
        my $a = $json->decode($req->{body});
        push @{ $next{ $a->{provider} } }, $a;
        return (201, {});
    }

    if ($p eq 'GET /login/oauth/authorize') {
        return authorize('github', $req);
    }
    if ($p eq 'GET /o/oauth2/v2/auth') {
        return authorize('google', $req);
    }

    if ($p eq 'POST /login/oauth/access_token') {
        return github_token($req, $form);
    }
    if ($p eq 'GET /user' || $p eq 'GET /user/emails') {
        my $a = bearer($req);
        return (401, { message => 'Bad credentials' })
            if !$a || $a->{provider} ne 'github'
               || ($a->{fail} // '') eq 'user_401';
        return (200, $a->{user}) if $p eq 'GET /user';
        return (200, $a->{emails} // []);
    }

    if ($p =~ m{^POST /repos/([^/]+/[^/]+)/hooks$}) {
        my ($repo, $a) = ($1, bearer($req));
        return (401, { message => 'Bad credentials' })
            if !$a || $a->{provider} ne 'github';
        return (404, { message => 'Not Found' })
            unless grep { $_ eq $repo } @{ $a->{repos} // [] };
        my $hook = eval { $json->decode($req->{body}) };
        return (422, { message => 'Validation Failed' })
            unless $hook && ($hook->{config}{url} // '') =~ m{^https?://};
        return (201, { id => 100000 + @log, %$hook });
    }

    if ($p eq 'POST /token') {
        return google_token($form);
    }
    if ($p eq 'GET /userinfo') {
        my $a = bearer($req);
        return (401, { error => 'invalid_token' })
            if !$a || $a->{provider} ne 'google'
               || ($a->{fail} // '') eq 'user_401';
        return (200, $a->{user});
    }

    return (404, { message => 'Not Found' });
}

# the user's click on "Authorize": back to redirect_uri with a code of
# the approval approve_next left, and the state as it came
sub authorize {
    my ($provider, $req) = @_;
    my $q = form_decode($req->{query});
    return (400, "<p>fake: unknown client_id</p>")
        unless ($q->{client_id} // '') eq $CLIENT{$provider}{id};
    my $a = shift @{ $next{$provider} // [] }
        or return (403, "<p>fake: nobody approves this $provider login</p>");
    my $code = rand_hex(10);
    $codes{$code} = { %$a, redirect_uri => $q->{redirect_uri},
                      code_challenge => $q->{code_challenge} };
    (my $state = $q->{state} // '')
        =~ s/([^A-Za-z0-9\-._~])/sprintf '%%%02X', ord $1/ge;
    return (302, '', 'text/html',
            "$q->{redirect_uri}?code=$code&state=$state");
}

# the code of this provider, spent whatever happens next (as GitHub does)
sub take_code {
    my ($provider, $code) = @_;
    my $a = delete $codes{ $code // '' };
    return $a && $a->{provider} eq $provider ? $a : undef;
}

sub issue_token {
    my ($a, $prefix) = @_;
    my $t = $a->{access_token} // $prefix . rand_hex(18);
    $tokens{$t} = $a;
    return $t;
}

sub github_token {
    my ($req, $f) = @_;
    my $c = $CLIENT{github};
    my $wants_json = ($req->{headers}{accept} // '') =~ m{application/json};
    my @err;
    my $a;
    if (($f->{client_id} // '') ne $c->{id}
        || ($f->{client_secret} // '') ne $c->{secret})
    {
        @err = (error => 'incorrect_client_credentials');
    } elsif (!($a = take_code('github', $f->{code}))) {
        @err = (error => 'bad_verification_code',
                error_description =>
                    'The code passed is incorrect or expired.');
    } elsif (($f->{redirect_uri} // '') ne ($a->{redirect_uri} // '')) {
        @err = (error => 'redirect_uri_mismatch');
    } elsif (($a->{fail} // '') eq 'token_error') {
        @err = (error => 'bad_verification_code');
    }
    return ('hangup') if $a && ($a->{fail} // '') eq 'hangup';
    return (500, '<html>oops</html>')
        if $a && ($a->{fail} // '') eq 'token_500';

    my %res = @err ? @err
            : (access_token => issue_token($a, 'gho_'), token_type => 'bearer',
               scope => 'admin:repo_hook,read:user,repo,user:email');
    return (200, \%res) if $wants_json;
    return (200, join('&', map { "$_=$res{$_}" } sort keys %res),
            'application/x-www-form-urlencoded');
}

sub google_token {
    my ($f) = @_;
    my $c = $CLIENT{google};
    return (400, { error => 'unsupported_grant_type' })
        if ($f->{grant_type} // '') ne 'authorization_code';
    return (401, { error => 'invalid_client' })
        if ($f->{client_id} // '') ne $c->{id}
           || ($f->{client_secret} // '') ne $c->{secret};
    my $a = take_code('google', $f->{code})
        // return (400, { error => 'invalid_grant',
                          error_description => 'Bad Request' });
    return (400, { error => 'redirect_uri_mismatch' })
        if ($f->{redirect_uri} // '') ne ($a->{redirect_uri} // '');
    return (400, { error => 'invalid_grant',
                   error_description => 'Missing code verifier.' })
        if !defined $f->{code_verifier};
    return (400, { error => 'invalid_grant',
                   error_description => 'Invalid code verifier.' })
        if b64url(sha256($f->{code_verifier}))
           ne ($a->{code_challenge} // '');
    return ('hangup') if ($a->{fail} // '') eq 'hangup';
    return (500, '<html>oops</html>') if ($a->{fail} // '') eq 'token_500';
    return (400, { error => 'invalid_grant' })
        if ($a->{fail} // '') eq 'token_error';
    return (200, { access_token => issue_token($a, 'ya29.'),
                   expires_in => 3599, token_type => 'Bearer',
                   scope => 'openid email profile', id_token => 'x.y.z' });
}

1;
